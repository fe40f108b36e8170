// Package kernels holds the float32 forward/backward kernels that the head trainer and the backbone
// run on. It is pure Go: no syscall/js, no cgo, no allocation inside a kernel, so the same code builds
// and is tested natively and as GOOS=js GOARCH=wasm.
//
// # Two kernel paths: scalar and SIMD128
//
// The scalar kernels are the default everywhere and the reference. GOOS=js GOARCH=wasm built by Go
// 1.27 with GOEXPERIMENT=simd adds WebAssembly SIMD128 forms (simd_wasm.go, gemm_simd.go,
// convgemm_simd.go) of the gemm under the 1×1 convolutions and the dense layers, the depthwise
// convolution, the fused activations, the bias add, the element-wise operations and the axpy loops
// of the dense backward pass; SIMD says which path a build runs. The page loads that build where
// the browser validates a v128 module, and the scalar one elsewhere.
//
// The SIMD128 convolution gemm (ConvGemm) has two forms and picks one by the layer's shape
// (convgemm_simd.go says where each wins): the outer product, weights transposed to (K,N) per
// call and blocks of 4 rows × 8 outputs with a[m,k] broadcast (no lanes to add up, best for K up to
// 192), and the dot product, 2 rows × 4 outputs of four-lane sums added up at the end (best for
// large K, and for few rows, which cannot pay for the transpose). Both apply the bias and the
// activation in registers, or right after writing a pair of rows, so a layer's output is written
// once; each micro-kernel call covers a whole group of rows, since Go's wasm calls pass every
// argument through memory and a call per 4×8 block cost 15–40%. The depthwise convolution runs
// its interior pixels (windows inside the image) on row kernels that hold the weights in
// registers: all nine of a 3×3 for four channels while the row's pixels go by, or one kernel row
// of a 5×5 per pass with the running sums in the output; border pixels take the general loop.
//
// Where the time goes: TestProfileSteps in backbone times each step of a forward pass alone (the
// median of 20, by CPU time) and sums by kind of step:
//
//	FINETUNER_PROFILE=centernet GOOS=js GOARCH=wasm simd_go test -run ProfileSteps -v ./backbone
//
// (simd_go from scripts/lib-simd.sh; plain go for the scalar build). In Node on 2026-12-04, the
// main branch's SIMD128 kernels (before) and this pass's (after) run in turn twice, the faster run
// of each kept, load average 6.6–6.9 on the 2 cores (so the absolute numbers are inflated; the
// ratios are what to read); ms per image, GFLOP/s of the convolutions:
//
//	step              centernet                    mobilenetv2
//	1×1 conv          22.4 → 16.5 (11.6 → 15.7)     90.4 → 65.0 (11.8 → 16.5)
//	3×3 depthwise      5.5 →  2.3                   22.9 → 10.4
//	5×5 depthwise      3.9 →  2.5                      —
//	3×3 stem conv      3.2 →  1.8                    5.3 →  3.1
//	binary ops         2.5 →  1.1                    1.9 →  0.9
//	hard-swish         0.9 →  0.9                      —
//	mean (SE)          0.8 →  0.5                      —
//	all steps         39.3 → 25.6                  120.6 → 79.5
//
// (the stem's im2col alone: 2.7 → 0.9–1.5 ms.) The 1×1 convolutions hold 64% and 82% of what is left: the next step there is a better
// micro-kernel or weights packed once at load time (the outer-product form transposes them on
// every call). tfjs-wasm's own per-operation times were not taken in this pass; its totals are
// the bench's backbone part.
//
// Determinism: the SIMD128 depthwise convolution, activations, bias add and element-wise
// operations perform the scalar loops' operations in the same order and give the same bits (tests
// hold them to that, except for the sign and payload of a NaN, which WebAssembly leaves open). The
// SIMD128 gemm adds each dot product in another order (four lane sums, then the lanes, then the K
// mod 4 tail; or, in the outer-product form, k by k from zero), so its results differ from the
// scalar gemm's in the last bits: within the float32 bound K·2⁻²⁴·Σ|a·w| of the exact product
// (TestGemmNT, TestConvGemmForms), 3.9e-7 relative on centernet's features (e2e TestKernelPaths),
// a head's validation loss within 1e-6 (head TestDeterministic). Within one build it is
// deterministic: the same seed gives the same bits, and a row gives the same bits alone or in a
// batch: the dense layer's form depends on K and N only, a convolution's on K, N and its pixel
// count M, which no batch changes (each image runs alone).
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
