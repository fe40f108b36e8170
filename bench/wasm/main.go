//go:build js && wasm

// Command wasm is the benchmark's entry point into our Go code, loaded by bench/web/bench-host.js in
// the same Web Worker as TensorFlow.js. It exposes globalThis.finetunerBench with synchronous
// functions over the very packages the app's trainer wasm uses (head, backbone), so the worker
// can time them against tfjs on the same data. Calls are synchronous on purpose: the worker has
// nothing else to do while a run is timed, and a synchronous call costs no timer round trips.
//
// Every function returns a JSON string (or a Float32Array) and throws a JS Error on bad input.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"finetuner/wasm/jshead"
	"finetuner/wasm/jsval"
	"fmt"
	"runtime"
	"runtime/debug"
	"syscall/js"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/kernels"
)

var (
	uint8Array = js.Global().Get("Uint8Array")

	bb *backbone.Model // the backbone loaded by loadBackbone
)

func main() {
	api := js.Global().Get("Object").New()
	for name, fn := range map[string]func(args []js.Value) (any, error){
		"trainHead":       trainHead,
		"autoProbe":       autoProbe,
		"split":           split,
		"loadBackbone":    loadBackbone,
		"preprocess":      preprocess,
		"backboneForward": backboneForward,
		"memStats":        memStats,
		"gc":              gc,
		"gemm":            gemm,
	} {
		api.Set(name, wrap(name, fn))
	}
	api.Set("goVersion", runtime.Version())
	api.Set("kernels", kernels.SIMD)
	js.Global().Set("finetunerBench", api)
	select {}
}

// wrap turns fn into a JS function that returns fn's value or throws an Error carrying its
// message; a panic becomes an Error too, so a bad call never kills the Go instance.
func wrap(name string, fn func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) (ret any) {
		var err error
		func() {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("internal error: %v\n%s", r, debug.Stack())
				}
			}()
			ret, err = fn(args)
		}()
		if err != nil {
			js.Global().Get("console").Call("error", name+": "+err.Error())
			return js.Global().Get("Error").New(name + ": " + err.Error())
		}
		return ret
	})
}

func jsonString(v any) (any, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return string(b), nil
}

// dataset reads (x, y, n, d, labels) from args[0:5].
func dataset(args []js.Value) (*head.Dataset, error) {
	return jshead.Dataset(args[0], args[1], args[2], args[3], args[4])
}

// runResult is what trainHead and autoProbe return: the epoch (or trial) events with their
// timestamps, the final report, and the time spent in Go from the call to the return.
type runResult struct {
	Events []event       `json:"events"`
	Report *head.Report  `json:"report"`
	Config head.Config   `json:"config"`
	GoMs   float64       `json:"goMs"`
	Mem    memStatsReply `json:"mem"`
}

// event is a progress event with the time since the call began, which, unlike ElapsedMs, includes
// copying the data in from JS and setting up the run. BestValAcc is, on the probe's trial events,
// the validation accuracy of the head handed over with it (the best so far).
type event struct {
	head.Event
	SinceCallMs float64 `json:"sinceCallMs"`
	BestValAcc  float64 `json:"bestValAcc,omitempty"`
}

// trainHead(x, y, n, d, labels, configJSON) trains with head.Train; configJSON is a head.Config.
// It returns JSON: {events (epoch and done), report, config, goMs, mem}.
func trainHead(args []js.Value) (any, error) {
	return run(args, head.Train)
}

// autoProbe(x, y, n, d, labels, configJSON) fits the automatic linear probe (head.AutoProbe);
// events are its trials and the final "done".
func autoProbe(args []js.Value) (any, error) {
	return run(args, head.AutoProbe)
}

func run(args []js.Value, fit func(context.Context, *head.Dataset, head.Config, *head.Control, func(head.Event)) (*head.Model, *head.Report, error)) (any, error) {
	start := time.Now()
	if len(args) != 6 || args[5].Type() != js.TypeString {
		return nil, errors.New("expects (x, y, n, d, labels, configJSON)")
	}
	ds, err := dataset(args)
	if err != nil {
		return nil, err
	}
	var cfg head.Config
	if err := json.Unmarshal([]byte(args[5].String()), &cfg); err != nil {
		return nil, fmt.Errorf("config: %v", err)
	}
	var events []event
	// headAcc is the validation accuracy of each head a probe trial handed over (at the trial that
	// first found it); handed is that of the head handed over with the coming trial event.
	headAcc := map[*head.Model]float64{}
	var handed float64
	ctl := head.NewControl()
	ctl.OnHead = func(m *head.Model, e head.Event) {
		if _, ok := headAcc[m]; !ok {
			headAcc[m] = e.ValAcc
		}
		handed = headAcc[m]
	}
	progress := func(e head.Event) {
		if e.Kind == "step" {
			return
		}
		ev := event{Event: e, SinceCallMs: float64(time.Since(start).Microseconds()) / 1000}
		if e.Kind == "trial" {
			ev.BestValAcc = handed
		}
		events = append(events, ev)
	}
	_, rep, err := fit(context.Background(), ds, cfg, ctl, progress)
	if err != nil {
		return nil, err
	}
	goMs := float64(time.Since(start).Microseconds()) / 1000
	return jsonString(runResult{Events: events, Report: rep, Config: cfg.Defaults(), GoMs: goMs, Mem: readMem()})
}

// split(y, classes, frac, seed) returns JSON {train, val}: head.Split's stratified row indices,
// so that tfjs trains and validates on exactly the rows our trainer does.
func split(args []js.Value) (any, error) {
	if len(args) != 4 {
		return nil, errors.New("expects (y, classes, frac, seed)")
	}
	y, err := jsval.Int32s(args[0], "y")
	if err != nil {
		return nil, err
	}
	C, err := jsval.Int(args[1], "classes", 2, 1<<16)
	if err != nil {
		return nil, err
	}
	frac := args[2].Float()
	if !(frac >= 0 && frac < 1) {
		return nil, fmt.Errorf("frac %v outside [0, 1)", frac)
	}
	seed, err := jsval.Int(args[3], "seed", 0, 1<<31)
	if err != nil {
		return nil, err
	}
	for i, c := range y {
		if c < 0 || int(c) >= C {
			return nil, fmt.Errorf("row %d has label %d outside 0..%d", i, c, C-1)
		}
	}
	tr, val := head.Split(y, C, frac, uint64(seed))
	return jsonString(map[string][]int32{"train": tr, "val": val})
}

// loadBackbone({"model.json": Uint8Array, "weights.bin": Uint8Array, ...}) loads a converted
// backbone and returns its description as JSON.
func loadBackbone(args []js.Value) (any, error) {
	if len(args) != 1 || args[0].Type() != js.TypeObject {
		return nil, errors.New("expects one object mapping file names to Uint8Arrays")
	}
	keys := js.Global().Get("Object").Call("keys", args[0])
	files := map[string][]byte{}
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		v := args[0].Get(k)
		if !v.InstanceOf(uint8Array) {
			return nil, fmt.Errorf("file %q must be a Uint8Array", k)
		}
		b := make([]byte, v.Length())
		js.CopyBytesToGo(b, v)
		files[k] = b
	}
	m, err := backbone.LoadFiles(files)
	if err != nil {
		return nil, err
	}
	bb = m
	h, w, c := m.InputShape()
	return jsonString(map[string]any{"info": m.Info(), "dim": m.Dim(), "inputShape": []int{h, w, c},
		"peakBytes": m.PeakBytes(), "weightBytes": m.WeightBytes()})
}

// preprocess(rgba, width, height) → Float32Array: the loaded backbone's input for the image
// (centre crop, resize, range), the same input that backboneForward and tfjs are then given.
func preprocess(args []js.Value) (any, error) {
	if bb == nil {
		return nil, errors.New("no backbone loaded")
	}
	if len(args) != 3 || !args[0].InstanceOf(uint8Array) {
		return nil, errors.New("expects (rgba Uint8Array, width, height)")
	}
	w, err := jsval.Int(args[1], "width", 1, 1<<14)
	if err != nil {
		return nil, err
	}
	h, err := jsval.Int(args[2], "height", 1, 1<<14)
	if err != nil {
		return nil, err
	}
	rgba := make([]byte, args[0].Length())
	js.CopyBytesToGo(rgba, args[0])
	if len(rgba) != w*h*4 {
		return nil, fmt.Errorf("image has %d bytes, want %d×%d×4", len(rgba), w, h)
	}
	var x []float32
	if err := bb.Preprocess(&x, rgba, w, h, backbone.View{}); err != nil {
		return nil, err
	}
	return jsval.Float32Array(x), nil
}

// backboneForward(x, batch) runs the backbone on batch preprocessed images stacked in x, one
// after the other (the Go runtime has one thread), and returns their features as a Float32Array.
func backboneForward(args []js.Value) (any, error) {
	if bb == nil {
		return nil, errors.New("no backbone loaded")
	}
	if len(args) != 2 {
		return nil, errors.New("expects (x Float32Array, batch)")
	}
	batch, err := jsval.Int(args[1], "batch", 1, 1024)
	if err != nil {
		return nil, err
	}
	x, err := jsval.Float32s(args[0], "x")
	if err != nil {
		return nil, err
	}
	h, w, c := bb.InputShape()
	per := h * w * c
	if len(x) != batch*per {
		return nil, fmt.Errorf("x has %d values, want %d images of %d×%d×%d", len(x), batch, h, w, c)
	}
	D := bb.Dim()
	out := make([]float32, batch*D)
	for i := 0; i < batch; i++ {
		if err := bb.Forward(out[i*D:(i+1)*D], x[i*per:(i+1)*per]); err != nil {
			return nil, err
		}
	}
	return jsval.Float32Array(out), nil
}

type memStatsReply struct {
	HeapAlloc uint64 `json:"heapAlloc"` // bytes of live and not yet collected objects
	HeapSys   uint64 `json:"heapSys"`
	Sys       uint64 `json:"sys"` // bytes the Go runtime obtained from the wasm memory
}

func readMem() memStatsReply {
	var s runtime.MemStats
	runtime.ReadMemStats(&s)
	return memStatsReply{HeapAlloc: s.HeapAlloc, HeapSys: s.HeapSys, Sys: s.Sys}
}

// memStats() reports the Go heap as JSON (the JS side adds the wasm memory size it sees).
func memStats([]js.Value) (any, error) { return jsonString(readMem()) }

// gc() collects garbage between timed runs so that one run's leftovers do not tax the next.
func gc([]js.Value) (any, error) {
	runtime.GC()
	debug.FreeOSMemory()
	return jsonString(readMem())
}
