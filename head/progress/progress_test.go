package progress

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"os"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

func TestRoundTrip(t *testing.T) {
	in := []Event{
		{Kind: "step", Epoch: 1, Epochs: 3, Step: 2, Steps: 12, TrainLoss: 1.25, LR: 1e-3, ElapsedMs: 4.5},
		{Kind: "epoch", Epoch: 2, Epochs: 3, TrainLoss: 0.7, TrainAcc: 0.8, HasVal: true, ValLoss: 0.9, ValAcc: 0.75, SamplesPerSec: 1234.5},
		{Kind: "trial", Epoch: 40, Lambda: 1e-3, HasVal: true, ValAcc: 0.5},
		{Kind: "done", Epoch: 3, Epochs: 3, ValLoss: math.NaN()},
	}
	var enc []float64
	for _, e := range in {
		enc = Append(enc, e)
	}
	if len(enc) != len(in)*Width {
		t.Fatalf("%d numbers for %d events", len(enc), len(in))
	}
	b := make([]byte, 8*len(enc))
	for i, f := range enc {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(f))
	}
	out, err := DecodeBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsNaN(out[3].ValLoss) {
		t.Errorf("NaN did not survive: %v", out[3].ValLoss)
	}
	out[3].ValLoss, in[3].ValLoss = 0, 0
	if !reflect.DeepEqual(in, out) {
		t.Errorf("round trip:\n got %+v\nwant %+v", out, in)
	}
}

func TestDecodeRejects(t *testing.T) {
	good := Append(nil, Event{Kind: "epoch", Epoch: 1})
	for name, src := range map[string][]float64{
		"short":     good[:Width-1],
		"kind 9":    append([]float64{9}, good[1:]...),
		"kind 0.5":  append([]float64{0.5}, good[1:]...),
		"epoch 1.5": append([]float64{1, 1.5}, good[2:]...),
	} {
		if _, err := Decode(src); err == nil {
			t.Errorf("%s: decoded without an error", name)
		}
	}
	if _, err := DecodeBytes(make([]byte, 7)); err == nil {
		t.Error("7 bytes decoded without an error")
	}
}

// TestFieldsMatchEvent keeps Fields, Width and Event's JSON names in step, and js/events.js, the
// page's reader of the same layout, in step with both.
func TestFieldsMatchEvent(t *testing.T) {
	if len(Fields) != Width {
		t.Fatalf("%d fields, Width %d", len(Fields), Width)
	}
	typ := reflect.TypeOf(Event{})
	var tags []string
	for i := range typ.NumField() {
		tags = append(tags, strings.Split(typ.Field(i).Tag.Get("json"), ",")[0])
	}
	for _, f := range Fields {
		if !strings.Contains(" "+strings.Join(tags, " ")+" ", " "+f+" ") {
			t.Errorf("field %q is not a JSON name of Event (%v)", f, tags)
		}
	}
	if len(tags) != Width {
		t.Errorf("Event has %d fields, the encoding %d", len(tags), Width)
	}
	src, err := os.ReadFile("../../js/events.js")
	if err != nil {
		t.Fatal(err)
	}
	list := func(name string) []string {
		m := regexp.MustCompile(`export const ` + name + ` = \[([^\]]*)\]`).FindSubmatch(src)
		if m == nil {
			t.Fatalf("js/events.js has no %s list", name)
		}
		return regexp.MustCompile(`'([^']*)'`).FindAllString(string(m[1]), -1)
	}
	quote := func(s []string) []string {
		out := make([]string, len(s))
		for i, x := range s {
			out[i] = "'" + x + "'"
		}
		return out
	}
	if got := list("FIELDS"); !reflect.DeepEqual(got, quote(Fields)) {
		t.Errorf("js/events.js FIELDS %v, Go %v", got, Fields)
	}
	if got := list("KINDS"); !reflect.DeepEqual(got, quote(Kinds)) {
		t.Errorf("js/events.js KINDS %v, Go %v", got, Kinds)
	}
}

// batch is a flush's worth of step events with their epoch event, as the trainer sends them.
func batch() []Event {
	evs := make([]Event, 100)
	for i := range evs {
		evs[i] = Event{Kind: "step", Epoch: 3, Epochs: 50, Step: 200 + i, Steps: 5000, TrainLoss: 0.51234 + float64(i)*1e-3, LR: 1e-3, ElapsedMs: 812.5}
	}
	evs[99] = Event{Kind: "epoch", Epoch: 3, Epochs: 50, TrainLoss: 0.5, TrainAcc: 0.8, HasVal: true, ValLoss: 0.6, ValAcc: 0.75, SamplesPerSec: 12345.6}
	return evs
}

// BenchmarkEncode: the trainer's side of a 100-event batch in the wire encoding.
func BenchmarkEncode(b *testing.B) {
	evs, buf := batch(), make([]float64, 0, 100*Width)
	for b.Loop() {
		buf = buf[:0]
		for _, e := range evs {
			buf = Append(buf, e)
		}
	}
}

// BenchmarkEncodeJSON is the same batch as JSON, as the trainer sent it before the encoding.
func BenchmarkEncodeJSON(b *testing.B) {
	evs := batch()
	for b.Loop() {
		if _, err := json.Marshal(evs); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecode: the plot's side of the batch.
func BenchmarkDecode(b *testing.B) {
	var enc []float64
	for _, e := range batch() {
		enc = Append(enc, e)
	}
	raw := make([]byte, 8*len(enc))
	for i, f := range enc {
		binary.LittleEndian.PutUint64(raw[8*i:], math.Float64bits(f))
	}
	for b.Loop() {
		if _, err := DecodeBytes(raw); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeJSON is the plot's old side with encoding/json (the frame used JSON.parse and a
// reader over js.Value, which is slower still: every field a call into JS).
func BenchmarkDecodeJSON(b *testing.B) {
	raw, _ := json.Marshal(batch())
	for b.Loop() {
		var evs []Event
		if err := json.Unmarshal(raw, &evs); err != nil {
			b.Fatal(err)
		}
	}
}
