//go:build js && wasm

// Command wasm is the Cloudflare Worker's Go side: syumai/workers hands it each /api/* request,
// and the cloudflare package's handler answers, with heads kept in the Workers KV namespace
// bound as HEADS (wrangler.toml). Static files never reach it: wrangler's [assets] serves them.
//
// The Worker's entry module (cloudflare/entry.mjs) starts this program once per isolate and
// sends it every request, several at a time: a handler waiting on KV lets the next request
// run. So nothing per request may live in a global. The entry module keeps each request's env
// and ExecutionContext in a scope, in the map context.scopes under a fresh id, and passes the
// id in the X-Finetuner-Scope header of the request it hands to Go; withScope swaps the header
// for the scope object, carried in the request's context. Under syumai/workers' own generated
// worker.mjs (one Go instance per request, no header) the runtime context's env is used.
//
// syumai/workers v0.31.0 ends its Serve after the first response body is read to the end (it
// closes a package-level channel then, and a second response would close it again and crash
// the program; upstream issue syumai/workers-go#193). So every answer here is buffered and
// handed over whole as a JS Uint8Array through the response writer's WriteRawJSBody: the
// response never reads the pipe that would close the channel. The API's answers are small
// (at most a 4 MB head file), and whole bodies are what the runtime sends fastest anyway.
//
// Build: ./build.sh cloudflare (workers-assets-gen -mode=go, then GOOS=js GOARCH=wasm go build).
package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"syscall/js"

	"github.com/syumai/workers"
	cfbinding "github.com/syumai/workers/cloudflare"

	"finetuner/cloudflare"
)

const (
	// binding is the KV namespace's name in wrangler.toml.
	binding = "HEADS"
	// scopeHeader carries the request's scope id from the entry module; traceHeader is echoed
	// from the scope into the answer, so a caller (and the integration test) can tell that an
	// answer was written with its own request's state.
	scopeHeader = "X-Finetuner-Scope"
	traceHeader = "X-Finetuner-Trace"
)

func main() {
	workers.Serve(withScope(cloudflare.New(workersKV{})))
}

type scopeKey struct{}

// scope is one request's {env, ctx, trace} object from the entry module, or undefined.
func scope(ctx context.Context) js.Value {
	if s, ok := ctx.Value(scopeKey{}).(js.Value); ok {
		return s
	}
	return js.Undefined()
}

// withScope finds the request's scope and puts it in the request's context.
func withScope(h http.Handler) http.Handler {
	scopes := js.Global().Get("context").Get("scopes")
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(scopeHeader)
		r.Header.Del(scopeHeader)
		s := js.Undefined()
		if id != "" && scopes.Truthy() {
			s = scopes.Call("get", id)
			if s.IsUndefined() {
				http.Error(w, `{"error":"internal error: the request's scope is gone","status":500}`, http.StatusInternalServerError)
				return
			}
		}
		a := &answer{w: w, scope: s}
		h.ServeHTTP(a, r.WithContext(context.WithValue(r.Context(), scopeKey{}, s)))
		a.finish()
	})
}

// rawBodyWriter is what syumai/workers' response writer offers for a body that is already a
// JS value.
type rawBodyWriter interface{ WriteRawJSBody(body js.Value) }

// answer buffers a response and hands it to syumai/workers' writer whole (see the package
// comment). It sets the trace header from the scope as the status is written, after every
// await of the handler, so an answer written with another request's scope shows.
type answer struct {
	w      http.ResponseWriter
	scope  js.Value
	status int
	body   bytes.Buffer
}

func (a *answer) Header() http.Header { return a.w.Header() }

func (a *answer) WriteHeader(status int) {
	if a.status != 0 {
		return
	}
	a.status = status
	if a.scope.Truthy() {
		if tr := a.scope.Get("trace"); tr.Type() == js.TypeString {
			a.Header().Set(traceHeader, tr.String())
		}
	}
}

func (a *answer) Write(b []byte) (int, error) {
	a.WriteHeader(http.StatusOK)
	return a.body.Write(b)
}

func (a *answer) finish() {
	a.WriteHeader(http.StatusOK)
	a.w.WriteHeader(a.status)
	raw, ok := a.w.(rawBodyWriter)
	if !ok {
		a.w.Write(a.body.Bytes())
		return
	}
	// Always a raw body, an empty one too: without one the runtime would read the pipe.
	u8 := js.Global().Get("Uint8Array").New(a.body.Len())
	js.CopyBytesToJS(u8, a.body.Bytes())
	raw.WriteRawJSBody(u8)
}

// workersKV is a cloudflare.KV over the Workers KV binding of the request's own env. It calls
// the binding directly rather than through syumai/workers' kv package, whose v0.31.0 GetString
// turns a missing key into the string "<null>", whose GetReader has no way to say "missing"
// at all, and which reads env from the runtime context shared by every request; here a missing
// key is a null from get(key, {type: "arrayBuffer"}).
type workersKV struct{}

func (workersKV) ns(ctx context.Context) (js.Value, error) {
	var ns js.Value
	if s := scope(ctx); s.Truthy() {
		ns = s.Get("env").Get(binding)
	} else {
		ns = cfbinding.GetBinding(binding)
	}
	if ns.IsUndefined() || ns.IsNull() {
		return js.Value{}, fmt.Errorf("the KV namespace %s is not bound: add it to wrangler.toml", binding)
	}
	return ns, nil
}

func (k workersKV) Get(ctx context.Context, key string) ([]byte, bool, error) {
	ns, err := k.ns(ctx)
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

func (k workersKV) Put(ctx context.Context, key string, value []byte) error {
	ns, err := k.ns(ctx)
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
// goroutine, so the JS event loop, and other requests, keep running meanwhile.
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
