//go:build js && wasm

// Package jsval converts between Go slices and JavaScript values for the wasm entry points (the
// app's trainer and the bench): typed arrays are copied in bulk through a Uint8Array view, and
// every argument that is not what it should be is an error naming it.
package jsval

import (
	"fmt"
	"syscall/js"
	"unsafe"
)

var (
	uint8Array   = js.Global().Get("Uint8Array")
	float32Array = js.Global().Get("Float32Array")
	int32Array   = js.Global().Get("Int32Array")
	float64Array = js.Global().Get("Float64Array")
	arrayBuffer  = js.Global().Get("ArrayBuffer")
)

// Bytes copies a Uint8Array.
func Bytes(v js.Value, what string) ([]byte, error) {
	if !v.InstanceOf(uint8Array) {
		return nil, fmt.Errorf("%s must be a Uint8Array", what)
	}
	b := make([]byte, v.Get("length").Int())
	js.CopyBytesToGo(b, v)
	return b, nil
}

// Float32s copies a Float32Array.
func Float32s(v js.Value, what string) ([]float32, error) {
	return copyView[float32](v, float32Array, "a Float32Array", what)
}

// Int32s copies an Int32Array.
func Int32s(v js.Value, what string) ([]int32, error) {
	return copyView[int32](v, int32Array, "an Int32Array", what)
}

// copyView copies a typed array of class ctor whose elements are 4-byte Ts.
func copyView[T float32 | int32](v, ctor js.Value, kind, what string) ([]T, error) {
	if !v.InstanceOf(ctor) {
		return nil, fmt.Errorf("%s must be %s", what, kind)
	}
	n := v.Get("length").Int()
	s := make([]T, n)
	if n > 0 {
		u := uint8Array.New(v.Get("buffer"), v.Get("byteOffset"), n*4)
		js.CopyBytesToGo(unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n*4), u)
	}
	return s, nil
}

// Float32Array returns a new Float32Array holding a copy of f.
func Float32Array(f []float32) js.Value { return newView(f, float32Array) }

// Float64Array returns a new Float64Array holding a copy of f.
func Float64Array(f []float64) js.Value { return newView(f, float64Array) }

// newView returns a new typed array of class ctor (whose elements are Ts) holding a copy of s.
func newView[T float32 | float64](s []T, ctor js.Value) js.Value {
	out := ctor.New(len(s))
	if len(s) > 0 {
		n := len(s) * int(unsafe.Sizeof(s[0]))
		js.CopyBytesToJS(uint8Array.New(out.Get("buffer")), unsafe.Slice((*byte)(unsafe.Pointer(&s[0])), n))
	}
	return out
}

// ViewBytes copies the bytes of any typed array (a Float64Array of progress events, say).
func ViewBytes(v js.Value, what string) ([]byte, error) {
	if !arrayBuffer.Call("isView", v).Bool() {
		return nil, fmt.Errorf("%s must be a typed array", what)
	}
	b := make([]byte, v.Get("byteLength").Int())
	js.CopyBytesToGo(b, uint8Array.New(v.Get("buffer"), v.Get("byteOffset"), len(b)))
	return b, nil
}

// Uint8Array returns a new Uint8Array holding a copy of b.
func Uint8Array(b []byte) js.Value {
	out := uint8Array.New(len(b))
	js.CopyBytesToJS(out, b)
	return out
}

// Int reads a whole number in [lo, hi].
func Int(v js.Value, what string, lo, hi int) (int, error) {
	if v.Type() != js.TypeNumber {
		return 0, fmt.Errorf("%s must be a number", what)
	}
	f := v.Float()
	n := int(f)
	if float64(n) != f || n < lo || n > hi {
		return 0, fmt.Errorf("%s must be a whole number from %d to %d, got %v", what, lo, hi, f)
	}
	return n, nil
}
