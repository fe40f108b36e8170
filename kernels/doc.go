// Package kernels holds the float32 forward/backward kernels that the head trainer and the backbone
// run on. It is pure Go: no syscall/js, no cgo, no allocation inside a kernel, so the same code builds
// and is tested natively and as GOOS=js GOARCH=wasm, where there is no SIMD and no threads.
//
// # Conventions (written once, here)
//
// Arguments: outputs first, then inputs, then sizes. For example
//
//	LinearForward(out, x, w, b, N, D, C)
//
// Layout: every tensor is a flat row-major []float32. A matrix a (R,K) holds element (r,k) at a[r*K+k].
// Images and feature maps are NHWC: element (n,h,w,c) of a (N,H,W,C) tensor is at
// ((n*H+h)*W+w)*C+c. Dense weights are stored as (C,D), output-major, as in llm.c's
// "weight is (OC,C)": each output's weights are one contiguous row, which is what the blocked
// dot products want.
//
// Gradients: a backward kernel accumulates into its gradient outputs (+=); the caller zeroes them
// once per step. A nil gradient output is skipped (dX of the first layer, for example).
//
// Errors: kernels panic on programmer errors (a slice too short, a negative size) with a fixed
// "kernels: ..." message, like gonum's "blas: m < 0". Anything fed by users is validated before it
// reaches a kernel.
//
// Every optimized kernel keeps its naive reference beside it (unexported, named *Naive or *Ref), which
// the tests use as the oracle at sizes that hit every unroll and tile remainder, and which the
// benchmarks run next to it.
package kernels
