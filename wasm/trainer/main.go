//go:build js && wasm

// Command trainer is the Go side of the app's Web Worker (js/worker.js): backbone feature
// extraction and head training, exposed to JavaScript as globalThis.finetuner. It has no Ebiten
// and no DOM. Every entry point returns a Promise; long work runs in a goroutine, and training
// yields to the worker's event loop between chunks so pause and stop messages get through.
package main

import (
	"errors"
	"fmt"
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
	mu sync.Mutex
	bb *backbone.Model
	id string
	hs headState
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
	} {
		api.Set(name, entry(name, fn))
	}
	a.registerHead(api)
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

// loadBackbone(id, files) loads a converted model; files maps file names to Uint8Arrays.
func (a *app) loadBackbone(args []js.Value) (any, error) {
	if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeObject {
		return nil, errors.New("loadBackbone(id, files) expects a string and an object")
	}
	id := args[0].String()
	keys := js.Global().Get("Object").Call("keys", args[1])
	files := map[string][]byte{}
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		b, err := jsval.Bytes(args[1].Get(k), k)
		if err != nil {
			return nil, err
		}
		files[k] = b
	}
	m, err := backbone.LoadFiles(files)
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

func (a *app) image(args []js.Value, what string) (rgba []byte, w, h int, err error) {
	if w, err = jsval.Int(args[1], "width", 1, 1<<14); err != nil {
		return
	}
	if h, err = jsval.Int(args[2], "height", 1, 1<<14); err != nil {
		return
	}
	if rgba, err = jsval.Bytes(args[0], what); err != nil {
		return
	}
	if len(rgba) != w*h*4 {
		err = fmt.Errorf("%s has %d bytes, want %d×%d×4 = %d", what, len(rgba), w, h, w*h*4)
	}
	return
}

// extract(rgba, width, height[, augment]) → Float32Array: the image's feature vector, or with
// augment ("flip", "crops" or "flip,crops") one vector per view of backbone.Augmentations, the
// plain view first, concatenated.
func (a *app) extract(args []js.Value) (any, error) {
	if len(args) != 3 && len(args) != 4 {
		return nil, errors.New("extract(rgba, width, height[, augment]) takes 3 or 4 arguments")
	}
	rgba, w, h, err := a.image(args, "image")
	if err != nil {
		return nil, err
	}
	views := []backbone.View{{}}
	if len(args) == 4 && !args[3].IsUndefined() {
		if views, err = augmentViews(args[3].String()); err != nil {
			return nil, err
		}
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
