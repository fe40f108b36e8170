//go:build js && wasm

// Command trainer is the Go side of the trainer's Web Worker (js/trainer-host.js): backbone
// feature extraction and head training, exposed to JavaScript as globalThis.finetuner. It has no
// Ebiten and no DOM. Each entry point takes one object of named fields (typed arrays for bulk
// data) and returns a Promise; long work runs in a goroutine, and training yields to the worker's
// event loop between chunks so pause and stop messages get through. js/trainer.js is the page's
// client for exactly these calls:
//
//	loadBackbone({id, files: {name: Uint8Array}, tap?, pool?}) → {id, dim, inputSize, tap, ...}
//	extract({rgba, width, height, augment?})                   → Float32Array
//	train({x, y, n, d, labels, group?}, request, onEvents)     → {head, info, report}
//	predict({rgba, width, height})                             → Float32Array
//	exportHead() → Uint8Array · importHead(Uint8Array) → info · memory() → {wasmBytes}
//	pause() · resume() · stop()
package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"runtime/debug"
	"sync"
	"syscall/js"

	"finetuner/backbone"
	"finetuner/kernels"
	"finetuner/wasm/jsval"
)

// version is reported to the page, so a stale cached worker is visible in the console.
const version = "1"

// app is the worker's state: the loaded backbone and the current head. mu serialises use of the
// backbone (a Model is not safe for concurrent use; promises may overlap).
type app struct {
	mu  sync.Mutex
	bb  *backbone.Model
	id  string
	hs  headState
	pre []float32 // predict's preprocessed image
}

func main() {
	js.Global().Set("finetuner", newAPI(&app{}))
	select {}
}

// newAPI returns the object the worker calls: one Promise-returning function per entry point.
func newAPI(a *app) js.Value {
	api := js.Global().Get("Object").New()
	api.Set("version", version)
	api.Set("kernels", kernels.SIMD) // "simd128" or "scalar": the page says which runs
	for name, fn := range map[string]func(args []js.Value) (any, error){
		"loadBackbone": a.loadBackbone,
		"extract":      a.extract,
		"memory":       memory,
	} {
		api.Set(name, entry(name, fn))
	}
	a.registerHead(api)
	a.registerRobust(api)
	return api
}

// entry wraps fn as a JS function returning a Promise; fn runs in a goroutine. The worker keeps
// the argument arrays alive until the promise settles. A panic becomes a rejected promise with a
// message, never a dead worker.
func entry(name string, fn func(args []js.Value) (any, error)) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) any {
		args = append([]js.Value(nil), args...)
		return newPromise(func(resolve, reject js.Value) {
			go func() {
				v, err := safely(name, func() (any, error) { return fn(args) })
				if err != nil {
					reject.Invoke(jsError(err))
					return
				}
				resolve.Invoke(v)
			}()
		})
	})
}

func safely(name string, run func() (any, error)) (v any, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%s: internal error: %v\n%s", name, r, debug.Stack())
		}
	}()
	return run()
}

func newPromise(body func(resolve, reject js.Value)) js.Value {
	var h js.Func
	h = js.FuncOf(func(this js.Value, args []js.Value) any {
		body(args[0], args[1])
		return nil
	})
	p := js.Global().Get("Promise").New(h)
	h.Release()
	return p
}

func jsError(err error) js.Value { return js.Global().Get("Error").New(err.Error()) }

// ---- backbone -------------------------------------------------------------------------------

// fileBytes copies a JS object {name: Uint8Array or ArrayBuffer} of a model's files into Go.
func fileBytes(obj js.Value) (map[string][]byte, error) {
	keys := js.Global().Get("Object").Call("keys", obj)
	files := map[string][]byte{}
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		b, err := jsval.Bytes(obj.Get(k), k)
		if err != nil {
			return nil, err
		}
		files[k] = b
	}
	return files, nil
}

// loadBackbone({id, files, tap, pool}) loads a converted model; files maps file names to
// Uint8Arrays. tap, if given, moves the feature tap to another node of the graph (a mid-level
// block instead of the last one): same weights, with pool ("mean" by default) turning that node's
// output into a vector.
func (a *app) loadBackbone(args []js.Value) (any, error) {
	o, err := object(args, "loadBackbone({id, files, tap, pool})")
	if err != nil {
		return nil, err
	}
	if o.Get("id").Type() != js.TypeString || o.Get("files").Type() != js.TypeObject {
		return nil, errors.New("loadBackbone needs an id (a string) and files (an object of Uint8Arrays)")
	}
	id := o.Get("id").String()
	files, err := fileBytes(o.Get("files"))
	if err != nil {
		return nil, err
	}
	m, err := loadAt(files, optString(o, "tap"), optString(o, "pool"))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.bb, a.id = m, id
	a.mu.Unlock()
	info := m.Info()
	return map[string]any{
		"id": id, "dim": m.Dim(), "inputSize": info.InputSize, "tap": info.Tap,
		"peakBytes": float64(m.PeakBytes()), "weightBytes": float64(m.WeightBytes()),
	}, nil
}

// loadAt loads a model from its files, with model.json's description but the tap moved to tap
// when one is given.
func loadAt(files map[string][]byte, tap, pool string) (*backbone.Model, error) {
	if tap == "" {
		return backbone.LoadFiles(files)
	}
	var mj struct {
		Finetuner *backbone.Info `json:"finetuner"`
	}
	if err := json.Unmarshal(files["model.json"], &mj); err != nil {
		return nil, fmt.Errorf("backbone: model.json is not valid JSON: %v", err)
	}
	if mj.Finetuner == nil {
		return nil, errors.New(`backbone: model.json has no "finetuner" block to move the tap of`)
	}
	info := *mj.Finetuner
	info.Tap, info.Pool, info.Dim = tap, pool, 0
	return backbone.LoadGraphModel(files["model.json"], func(p string) ([]byte, error) {
		b, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("weight file %q is missing", p)
		}
		return b, nil
	}, &info)
}

// memory() → {wasmBytes}: the memory the Go runtime has taken from the WebAssembly instance (its
// linear memory beyond the binary's own data), for the kiosk's soak gauge. It never shrinks.
func memory([]js.Value) (any, error) {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return map[string]any{"wasmBytes": float64(ms.Sys)}, nil
}

// object returns the single object argument of an entry point.
func object(args []js.Value, call string) (js.Value, error) {
	if len(args) < 1 || args[0].Type() != js.TypeObject {
		return js.Value{}, fmt.Errorf("%s takes an object", call)
	}
	return args[0], nil
}

// optString reads an optional string field: "" when absent.
func optString(o js.Value, k string) string {
	if v := o.Get(k); v.Type() == js.TypeString {
		return v.String()
	}
	return ""
}

// image reads the argument of call, an object {rgba, width, height, ...} of RGBA pixels, row by
// row, and returns it with the pixels.
func (a *app) image(args []js.Value, call string) (o js.Value, rgba []byte, w, h int, err error) {
	if o, err = object(args, call); err != nil {
		return
	}
	if w, err = jsval.Int(o.Get("width"), "width", 1, 1<<14); err != nil {
		return
	}
	if h, err = jsval.Int(o.Get("height"), "height", 1, 1<<14); err != nil {
		return
	}
	if rgba, err = jsval.Bytes(o.Get("rgba"), "rgba"); err != nil {
		return
	}
	if len(rgba) != w*h*4 {
		err = fmt.Errorf("rgba has %d bytes, want %d×%d×4 = %d", len(rgba), w, h, w*h*4)
	}
	return
}

// extract({rgba, width, height, augment}) → Float32Array: the image's feature vector, or with
// augment ("flip", "crops" or "flip,crops") one vector per view of backbone.Augmentations, the
// plain view first, concatenated.
func (a *app) extract(args []js.Value) (any, error) {
	o, rgba, w, h, err := a.image(args, "extract({rgba, width, height, augment})")
	if err != nil {
		return nil, err
	}
	views, err := augmentViews(optString(o, "augment"))
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.bb == nil {
		return nil, errors.New("no backbone loaded")
	}
	d := a.bb.Dim()
	feat := make([]float32, len(views)*d)
	for i, v := range views {
		if err := a.bb.FeaturesView(feat[i*d:(i+1)*d], rgba, w, h, v); err != nil {
			return nil, err
		}
	}
	return jsval.Float32Array(feat), nil
}

// augmentViews parses the page's augmentation setting: "" or "none", "flip", "crops", "flip,crops".
func augmentViews(s string) ([]backbone.View, error) {
	var flip, crops bool
	switch s {
	case "", "none":
		return []backbone.View{{}}, nil
	case "flip":
		flip = true
	case "crops":
		crops = true
	case "flip,crops":
		flip, crops = true, true
	default:
		return nil, fmt.Errorf("augmentation %q: want none, flip, crops or flip,crops", s)
	}
	return backbone.Augmentations(flip, crops), nil
}
