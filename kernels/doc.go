// Package kernels holds the float32 forward/backward kernels that the head trainer and the backbone
// run on. It is pure Go: no syscall/js, no cgo, no allocation inside a kernel, so the same code builds
// and is tested natively and as GOOS=js GOARCH=wasm.
//
// # Two kernel paths: scalar and SIMD128
//
// The scalar kernels are the default everywhere and the reference. GOOS=js GOARCH=wasm built by Go
// 1.27 with GOEXPERIMENT=simd adds WebAssembly SIMD128 forms (simd_wasm.go, gemm_simd.go) of the
// gemm under the 1×1 convolutions and the dense layers, the depthwise convolution, the fused
// activations, the bias add and the axpy loops of the dense backward pass; SIMD says which path a
// build runs. The page loads that build where the browser validates a v128 module, and the scalar
// one elsewhere.
//
// Why Go's simd/archsimd and not a SIMD module of our own: both were open. A generated SIMD128
// module beside the Go program would have to be handed the Go instance's WebAssembly.Memory (which
// syscall/js does not expose), and every call would cross syscall/js (argument boxing, a JS frame)
// and leave the Go scheduler's sight, so only large calls could go there and each kernel would be
// written twice, once in Go and once in wasm opcodes. archsimd.Float32x4 compiles to real v128
// instructions in the same module (checked with wasm2wat: v128.load, f32x4.mul, f32x4.add in the
// loops; 16 vector registers, so a 2×4 block of accumulators does not spill), kernels stay plain Go
// beside their scalar twins, and calls cost what any Go call costs. The price: a second trainer
// build, and Go 1.27 for it (the rest of the module stays on Go 1.26).
//
// Determinism: the SIMD128 depthwise convolution, activations and bias add perform the scalar
// loops' operations in the same order and give the same bits (tests hold them to that, except for
// the sign and payload of a NaN, which WebAssembly leaves open). The SIMD128 gemm adds each dot
// product in another order (four lane sums, then the lanes, then the K mod 4 tail; or, for K ≤ 32,
// k by k from zero), so its results differ from the scalar gemm's in the last bits: within the
// float32 bound K·2⁻²⁴·Σ|a·w| of the exact product (TestGemmNT), 3.9e-7 relative on centernet's
// features (e2e TestKernelPaths), a head's validation loss within 1e-6 (head TestDeterministic).
// Within one build it is deterministic: the same seed gives the same bits, and a row gives the same
// bits alone or in a batch, since the blocking depends on K and N only.
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
