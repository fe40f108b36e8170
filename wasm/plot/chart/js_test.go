//go:build js && wasm

package chart

import (
	"encoding/binary"
	"math"
	"reflect"
	"strings"
	"syscall/js"
	"testing"

	"finetuner/head/progress"
)

// TestMessageFromJS decodes messages both ways, the plot's (JSON.parse, then MessageFromJS) and
// the tests' (encoding/json with Message's tags): the results must be equal, and where
// encoding/json refuses a message for a wrongly typed field, so must MessageFromJS. Progress
// events never come as JSON (see TestDecodeEncodedEvents).
func TestMessageFromJS(t *testing.T) {
	parse := js.Global().Get("JSON").Get("parse")
	for _, text := range []string{
		`{"type":"reset","labels":["birds","fruit"],"epochs":50}`,
		`{"type":"report","labels":["a","b"],"confusion":[[3,1],[0,4]],"perClass":[{"precision":1,"recall":0.75,"accuracy":0.75,"support":4},{}],"valAcc":0.875}`,
		`{"type":"options","logScale":true,"smooth":0.6,"view":"eval"}`,
		`{"type":"options","lang":"ja","theme":"dark","strings":{"lossTitle":"損失","accTitle":"精度"}}`,
		`{"type":"options","logScale":null,"smooth":null,"lang":null,"strings":null,"extra":[1,2]}`,
		`{"type":"options","strings":{}}`,
		`{}`,
	} {
		want, err := ParseMessage([]byte(text))
		if err != nil {
			t.Fatalf("%s: encoding/json: %v", text, err)
		}
		got, err := MessageFromJS(parse.Invoke(text))
		if err != nil {
			t.Fatalf("%s: %v", text, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s:\n got %+v\nwant %+v", text, got, want)
		}
	}
	for _, tc := range []struct{ text, field string }{
		{`{"type":3}`, "type"},
		{`{"type":"reset","labels":"a,b"}`, "labels"},
		{`{"type":"reset","labels":["a",2]}`, "labels[1]"},
		{`{"type":"reset","epochs":"50"}`, "epochs"},
		{`{"type":"reset","epochs":2.5}`, "epochs"},
		{`{"type":"report","confusion":[[1,"x"]]}`, "confusion[0][1]"},
		{`{"type":"report","perClass":[3]}`, "perClass[0]"},
		{`{"type":"options","logScale":"yes"}`, "logScale"},
		{`{"type":"options","smooth":"0.5"}`, "smooth"},
		{`{"type":"options","strings":{"lossTitle":5}}`, "lossTitle"},
		{`{"type":"options","strings":["x"]}`, "strings"},
	} {
		if _, err := ParseMessage([]byte(tc.text)); err == nil {
			t.Fatalf("%s: encoding/json accepts it; the case proves nothing", tc.text)
		}
		_, err := MessageFromJS(parse.Invoke(tc.text))
		if err == nil || !strings.Contains(err.Error(), tc.field) {
			t.Errorf("%s: error %v, want one naming %s", tc.text, err, tc.field)
		}
	}
	for _, text := range []string{`[1,2]`, `"text"`, `3`, `null`} {
		if _, err := MessageFromJS(parse.Invoke(text)); err == nil {
			t.Errorf("%s: accepted as a message", text)
		}
	}
}

// TestDecodeEncodedEvents: a batch of events goes from the trainer's encoding into the state.
func TestDecodeEncodedEvents(t *testing.T) {
	enc := progress.Append(nil, progress.Event{Kind: "step", Step: 1, Steps: 4, Epochs: 2, TrainLoss: 2})
	enc = progress.Append(enc, progress.Event{Kind: "epoch", Epoch: 1, Epochs: 2, TrainLoss: 1.5, HasVal: true, ValAcc: 0.5})
	b := make([]byte, 8*len(enc))
	for i, f := range enc {
		binary.LittleEndian.PutUint64(b[8*i:], math.Float64bits(f))
	}
	evs, err := progress.DecodeBytes(b)
	if err != nil {
		t.Fatal(err)
	}
	s := NewState()
	if err := s.ApplyMessage(Message{Type: "events", Events: evs}); err != nil {
		t.Fatal(err)
	}
	if s.StepLoss.Len() != 1 || s.ValAcc.Len() != 1 || s.ValAcc.Y[0] != 0.5 {
		t.Errorf("state after the batch: steps %+v val acc %+v", s.StepLoss, s.ValAcc)
	}
}
