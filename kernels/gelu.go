package kernels

import "math"

// GELU uses the tanh approximation, as llm.c and TF.js's gelu(approximate) do:
//
//	gelu(x) = ½·x·(1 + tanh(√(2/π)·(x + 0.044715·x³)))
//
// It runs on hidden layers of at most a few hundred units, so it computes in float64 for a
// derivative that matches finite differences closely.
const geluScale = 0.7978845608028654 // √(2/π)

// GELUForward computes out = gelu(x).
//
//	x (n), out (n); out and x may be the same slice only if no backward pass follows.
func GELUForward(out, x []float32, n int) {
	if len(out) < n || len(x) < n {
		panic("kernels: GELUForward: slice too short")
	}
	out, x = out[:n], x[:n]
	for i, v := range x {
		u := float64(v)
		t := math.Tanh(geluScale * (u + 0.044715*u*u*u))
		out[i] = float32(0.5 * u * (1 + t))
	}
}

// GELUBackward accumulates dx += dout·gelu'(x).
//
//	x (n) is the forward input, dout (n), dx (n)
func GELUBackward(dx, dout, x []float32, n int) {
	if len(dx) < n || len(dout) < n || len(x) < n {
		panic("kernels: GELUBackward: slice too short")
	}
	dx, dout, x = dx[:n], dout[:n], x[:n]
	for i, v := range x {
		u := float64(v)
		t := math.Tanh(geluScale * (u + 0.044715*u*u*u))
		d := 0.5*(1+t) + 0.5*u*(1-t*t)*geluScale*(1+3*0.044715*u*u)
		dx[i] += float32(float64(dout[i]) * d)
	}
}
