//go:build js && wasm

// Command wasm is the Cloudflare Worker: syumai/workers hands each /api/* request to the
// worker package's handler, with heads kept in the Workers KV namespace bound as HEADS
// (wrangler.toml). Static files never reach it: wrangler's [assets] serves them.
//
// Build: ./build.sh cloudflare (workers-assets-gen -mode=go, then GOOS=js GOARCH=wasm go build).
package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"

	"github.com/syumai/workers"
	cfbinding "github.com/syumai/workers/cloudflare"

	"finetuner/cloudflare"
)

// binding is the KV namespace's name in wrangler.toml.
const binding = "HEADS"

func main() {
	workers.Serve(cloudflare.New(workersKV{}))
}

// workersKV is a cloudflare.KV over the Workers KV binding. It calls the binding directly rather
// than through syumai/workers' kv package, whose v0.31.0 GetString turns a missing key into the
// string "<null>" and whose GetReader has no way to say "missing" at all; here a missing key is
// a null from get(key, {type: "arrayBuffer"}).
type workersKV struct{}

func (workersKV) ns() (js.Value, error) {
	ns := cfbinding.GetBinding(binding)
	if ns.IsUndefined() || ns.IsNull() {
		return js.Value{}, fmt.Errorf("the KV namespace %s is not bound: add it to wrangler.toml", binding)
	}
	return ns, nil
}

func (k workersKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	ns, err := k.ns()
	if err != nil {
		return nil, false, err
	}
	opts := js.Global().Get("Object").New()
	opts.Set("type", "arrayBuffer")
	v, err := await(ns.Call("get", key, opts))
	if err != nil {
		return nil, false, fmt.Errorf("KV get: %w", err)
	}
	if v.IsNull() || v.IsUndefined() {
		return nil, false, nil
	}
	u8 := js.Global().Get("Uint8Array").New(v)
	b := make([]byte, u8.Length())
	js.CopyBytesToGo(b, u8)
	return b, true, nil
}

func (k workersKV) Put(_ context.Context, key string, value []byte) error {
	ns, err := k.ns()
	if err != nil {
		return err
	}
	u8 := js.Global().Get("Uint8Array").New(len(value))
	js.CopyBytesToJS(u8, value)
	if _, err := await(ns.Call("put", key, u8.Get("buffer"))); err != nil {
		return fmt.Errorf("KV put: %w", err)
	}
	return nil
}

// await blocks the calling goroutine until the promise settles. The handler runs in its own
// goroutine, so the JS event loop keeps running meanwhile.
func await(p js.Value) (js.Value, error) {
	type settled struct {
		v   js.Value
		err error
	}
	ch := make(chan settled, 1)
	var onOK, onErr js.Func
	onOK = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- settled{v: args[0]}
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- settled{err: errors.New(args[0].Call("toString").String())}
		return nil
	})
	p.Call("then", onOK, onErr)
	s := <-ch
	onOK.Release()
	onErr.Release()
	return s.v, s.err
}
