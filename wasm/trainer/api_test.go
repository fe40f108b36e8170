//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"syscall/js"
	"testing"
	"time"

	"finetuner/head"
	"finetuner/head/progress"
	"finetuner/kernels"
	"finetuner/wasm/jsval"
)

// await blocks the test goroutine until the promise settles; meanwhile the Go runtime hands the
// JS event loop its turns, as in the worker.

var (
	uint8Array = js.Global().Get("Uint8Array")
	int32Array = js.Global().Get("Int32Array")
)

func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	then := js.FuncOf(func(_ js.Value, a []js.Value) any { ch <- result{v: a[0]}; return nil })
	catch := js.FuncOf(func(_ js.Value, a []js.Value) any {
		ch <- result{err: errors.New(a[0].Get("message").String())}
		return nil
	})
	defer then.Release()
	defer catch.Release()
	p.Call("then", then, catch)
	r := <-ch
	return r.v, r.err
}

// blobs returns n rows of d features in C well separated classes.
func blobs(n, d, C int) ([]float32, []int32) {
	rng := kernels.NewRNG(7)
	x := make([]float32, n*d)
	y := make([]int32, n)
	for i := range y {
		y[i] = int32(i % C)
		for k := 0; k < d; k++ {
			x[i*d+k] = float32(rng.Float64()*0.6 - 0.3)
		}
		x[i*d+int(y[i])] += 3
	}
	return x, y
}

type recorder struct {
	mu     sync.Mutex
	events []head.Event
	fn     js.Func
}

func newRecorder(t *testing.T) *recorder {
	r := &recorder{}
	r.fn = js.FuncOf(func(_ js.Value, a []js.Value) any {
		b, err := jsval.ViewBytes(a[0], "progress")
		if err != nil {
			t.Error(err)
		}
		evs, err := progress.DecodeBytes(b)
		if err != nil {
			t.Errorf("progress is not a batch of encoded events: %v", err)
		}
		r.mu.Lock()
		r.events = append(r.events, evs...)
		r.mu.Unlock()
		return nil
	})
	return r
}

func (r *recorder) count(kind string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, e := range r.events {
		if e.Kind == kind {
			n++
		}
	}
	return n
}

// train calls the API's train with request, a head.Request in JSON; group, if given, is the
// rows' group ids.
func train(api js.Value, x []float32, y []int32, n, d int, labels []string, request string, rec *recorder, group ...js.Value) js.Value {
	ls := make([]any, len(labels))
	for i, l := range labels {
		ls[i] = l
	}
	data := map[string]any{"x": jsval.Float32Array(x), "y": int32s(y), "n": n, "d": d, "labels": ls}
	if len(group) > 0 {
		data["group"] = group[0]
	}
	return api.Call("train", js.ValueOf(data), js.Global().Get("JSON").Call("parse", request), rec.fn)
}

// image is the {rgba, width, height} argument of extract and predict, with augment when given.
func image(rgba js.Value, w, h int, augment ...string) js.Value {
	o := map[string]any{"rgba": rgba, "width": w, "height": h}
	if len(augment) > 0 {
		o["augment"] = augment[0]
	}
	return js.ValueOf(o)
}

func int32s(v []int32) js.Value {
	a := int32Array.New(len(v))
	for i, x := range v {
		a.SetIndex(i, x)
	}
	return a
}

func TestTrainPredictExportImport(t *testing.T) {
	api := newAPI(&app{})
	n, d := 90, 6
	x, y := blobs(n, d, 3)
	rec := newRecorder(t)
	res, err := await(train(api, x, y, n, d, []string{"a", "b", "c"},
		`{"epochs":20,"batchSize":8,"lr":0.05,"valFraction":0.2,"seed":3}`, rec))
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Get("report")
	if acc := rep.Get("valAcc").Float(); acc < 0.95 {
		t.Errorf("val acc %.3f on separable blobs", acc)
	}
	if rec.count("epoch") != 20 || rec.count("done") != 1 || rec.count("step") == 0 {
		t.Errorf("events: %d epoch, %d done, %d step", rec.count("epoch"), rec.count("done"), rec.count("step"))
	}
	// The gallery needs, for each evaluated row, its true and predicted class.
	vi, vt, vp := rep.Get("valIndex"), rep.Get("valTrue"), rep.Get("valPred")
	if vi.Length() == 0 || vi.Length() != vt.Length() || vi.Length() != vp.Length() {
		t.Fatalf("valIndex/valTrue/valPred lengths %d %d %d", vi.Length(), vt.Length(), vp.Length())
	}
	for i := 0; i < vi.Length(); i++ {
		if int32(vt.Index(i).Int()) != y[vi.Index(i).Int()] {
			t.Fatalf("valTrue[%d] is not the label of row %d", i, vi.Index(i).Int())
		}
	}
	if pc := rep.Get("perClass"); pc.Length() != 3 || pc.Index(0).Get("accuracy").Float() != pc.Index(0).Get("recall").Float() {
		t.Errorf("perClass lacks accuracy = recall: %v", js.Global().Get("JSON").Call("stringify", pc))
	}
	info := res.Get("info")
	if info.Get("dim").Int() != d || info.Get("labels").Length() != 3 || info.Get("kind").String() != "linear" {
		t.Errorf("info %v", js.Global().Get("JSON").Call("stringify", info))
	}

	// No backbone: extraction and prediction say so.
	img := uint8Array.New(4 * 4 * 4)
	if _, err := await(api.Call("extract", image(img, 4, 4))); err == nil || !strings.Contains(err.Error(), "no backbone") {
		t.Errorf("extract without a backbone: %v", err)
	}
	if _, err := await(api.Call("extract", image(img, 5, 4))); err == nil || !strings.Contains(err.Error(), "want 5×4×4") {
		t.Errorf("extract with a wrong size: %v", err)
	}
	if _, err := await(api.Call("predict", image(img, 4, 4))); err == nil || !strings.Contains(err.Error(), "no backbone") {
		t.Errorf("predict without a backbone: %v", err)
	}

	// Export, then import the same bytes; a damaged copy is refused.
	file, err := await(api.Call("exportHead"))
	if err != nil {
		t.Fatal(err)
	}
	if b := res.Get("head"); b.Length() != file.Length() {
		t.Errorf("exportHead gives %d bytes, train gave %d", file.Length(), b.Length())
	}
	got, err := await(api.Call("importHead", file))
	if err != nil {
		t.Fatal(err)
	}
	if got.Get("labels").Index(2).String() != "c" {
		t.Errorf("imported labels %v", js.Global().Get("JSON").Call("stringify", got.Get("labels")))
	}
	bad := uint8Array.New(file.Length())
	bad.Call("set", file)
	bad.SetIndex(10, 0x7b)
	bad.SetIndex(11, 0x7b)
	if _, err := await(api.Call("importHead", bad)); err == nil {
		t.Error("a damaged head file was accepted")
	}
	if _, err := await(api.Call("importHead", "not bytes")); err == nil || !strings.Contains(err.Error(), "Uint8Array") {
		t.Errorf("importHead of a string: %v", err)
	}
}

func TestTrainErrors(t *testing.T) {
	api := newAPI(&app{})
	x, y := blobs(12, 4, 2)
	rec := newRecorder(t)
	for cfg, want := range map[string]string{
		`{"head":"cnn","epochs":5}`:                                       `unknown field "head"`,
		`{"epochs":-1,"batchSize":4,"lr":0.01,"valFraction":0.2}`:         "epochs",
		`{"hidden":[8],"activation":"tanh","epochs":5}`:                   "activation",
		`{"epochs":5,"batchSize":4,"lr":0.01,"valFraction":1.5,"seed":1}`: "validation fraction",
	} {
		if _, err := await(train(api, x, y, 12, 4, []string{"a", "b"}, cfg, rec)); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want one mentioning %q", cfg, err, want)
		}
	}
	if _, err := await(train(api, x, y, 12, 4, []string{"a", "a"}, `{"epochs":5,"batchSize":4,"lr":0.01,"valFraction":0.2}`, rec)); err == nil {
		t.Error("duplicate class names accepted")
	}
}

func TestPauseResumeStop(t *testing.T) {
	api := newAPI(&app{})
	n, d := 200, 16
	x, y := blobs(n, d, 4)
	rec := newRecorder(t)
	p := train(api, x, y, n, d, []string{"a", "b", "c", "d"},
		`{"hidden":[32],"epochs":100000,"batchSize":4,"lr":0.001,"valFraction":0.2,"seed":1}`, rec)
	waitEvents := func(kind string, n int) {
		t.Helper()
		deadline := time.Now().Add(60 * time.Second)
		for rec.count(kind) < n {
			if time.Now().After(deadline) {
				t.Fatalf("only %d %s events after 60 s", rec.count(kind), kind)
			}
			time.Sleep(5 * time.Millisecond)
		}
	}
	waitEvents("epoch", 3)
	api.Call("pause")
	time.Sleep(100 * time.Millisecond) // a batch may be on its way
	before := rec.count("step")
	time.Sleep(300 * time.Millisecond)
	if after := rec.count("step"); after != before {
		t.Errorf("steps went on while paused: %d → %d", before, after)
	}
	api.Call("resume")
	waitEvents("step", before+1)
	api.Call("stop")
	res, err := await(p)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Get("report").Get("stopped").Bool() {
		t.Error("the report of a stopped run does not say stopped")
	}
	if e := rec.count("epoch"); e >= 100000 {
		t.Errorf("stop did not stop: %d epochs", e)
	}
	// The run is over: another may start.
	if _, err := await(train(api, x, y, n, d, []string{"a", "b", "c", "d"}, `{"epochs":2,"batchSize":50,"lr":0.01,"valFraction":0.2}`, newRecorder(t))); err != nil {
		t.Errorf("a second run after stop: %v", err)
	}
}

func TestFinite(t *testing.T) {
	inf := 1.0
	for i := 0; i < 400; i++ {
		inf *= 10
	}
	e := head.Event{Kind: "epoch", SamplesPerSec: inf, TrainLoss: inf - inf, ValAcc: 0.5}
	finite(&e)
	if e.SamplesPerSec != 0 || e.TrainLoss != 0 || e.ValAcc != 0.5 {
		t.Errorf("finite: %+v", e)
	}
	if _, err := json.Marshal(e); err != nil {
		t.Error(err)
	}
}

// TestTrainGroups passes augmented rows with their image ids: validation then holds one row per
// held-out image, always the plain view, and a bad group list is refused.
func TestTrainGroups(t *testing.T) {
	api := newAPI(&app{})
	n, d := 60, 6
	x, y := blobs(n, d, 3)
	// A second view of every image, rows n..2n-1.
	x = append(x, x...)
	y = append(y, y...)
	g := make([]int32, 2*n)
	for i := range g {
		g[i] = int32(i % n)
	}
	labels := []string{"a", "b", "c"}
	rec := newRecorder(t)
	res, err := await(train(api, x, y, 2*n, d, labels, `{"epochs":3,"batchSize":8,"lr":0.05,"valFraction":0.2,"seed":3}`, rec, int32s(g)))
	if err != nil {
		t.Fatal(err)
	}
	rep := res.Get("report")
	if nv, nt := rep.Get("nVal").Int(), rep.Get("nTrain").Int(); nv != 12 || nt != 96 {
		t.Errorf("%d validation and %d training rows, want 12 (one per held-out image) and 96", nv, nt)
	}
	vi := rep.Get("valIndex")
	for i := 0; i < vi.Length(); i++ {
		if vi.Index(i).Int() >= n {
			t.Errorf("validation scored the augmented row %d", vi.Index(i).Int())
		}
	}
	if _, err := await(train(api, x, y, 2*n, d, labels, `{"epochs":1}`, rec, int32s(g[:5]))); err == nil || !strings.Contains(err.Error(), "group ids") {
		t.Errorf("5 group ids for 120 rows: %v", err)
	}
	img := uint8Array.New(4 * 4 * 4)
	if _, err := await(api.Call("extract", image(img, 4, 4, "rotate"))); err == nil || !strings.Contains(err.Error(), "want none, flip") {
		t.Errorf("extract with augmentation \"rotate\": %v", err)
	}
}

// TestMemoryAndBadCalls: memory reports the Go runtime's memory, and every entry point that takes
// an object says so when it gets something else.
func TestMemoryAndBadCalls(t *testing.T) {
	api := newAPI(&app{})
	m, err := await(api.Call("memory"))
	if err != nil {
		t.Fatal(err)
	}
	if b := m.Get("wasmBytes").Float(); b < 1<<20 || b > 1<<32 {
		t.Errorf("wasmBytes %v", b)
	}
	for call, want := range map[string]string{
		"extract": "extract({rgba, width, height, augment}) takes an object", "predict": "predict({rgba, width, height}) takes an object",
		"loadBackbone": "loadBackbone({id, files, tap, pool}) takes an object", "train": "train({x, y, n, d, labels, group}, request, onEvents)",
	} {
		if _, err := await(api.Call(call, "not an object")); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s(string): %v, want %q", call, err, want)
		}
	}
	if _, err := await(api.Call("loadBackbone", js.ValueOf(map[string]any{"id": "x", "files": map[string]any{}, "tap": "a/b"}))); err == nil || !strings.Contains(err.Error(), "model.json") {
		t.Errorf("loadBackbone at a tap without model.json: %v", err)
	}
}
