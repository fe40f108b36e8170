//go:build !(goexperiment.simd && wasm)

package kernels

// SIMD names the kernel path this build runs: "scalar" here, "simd128" in the WebAssembly build
// made by Go 1.27 with GOEXPERIMENT=simd (simd_wasm.go).
const SIMD = "scalar"

// gemmNT is the matrix product both the dense layer and the convolutions run on:
//
//	a (M,K), w (N,K), out (M,N)
//	out[m*N+n] = Σ_k a[m*K+k]·w[n*K+k]
//
// In this build it is the scalar kernel (gemm.go).
func gemmNT(out, a, w []float32, M, K, N int) { gemmNTScalar(out, a, w, M, K, N) }

// convGemm is ConvGemm after its checks: here gemmNT, then the bias and activation. The scalar
// kernel reads w as it is: there are no panels.
func convGemm(out, a, w, _, b []float32, M, K, N int, act FusedAct) {
	gemmNT(out, a, w, M, K, N)
	biasAct(out, b, M, N, act)
}

// conv2DDirect leaves every convolution to im2col and the gemm in this build.
func conv2DDirect(out, x, w, panels, b, col []float32, H, W, C, N, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) bool {
	return false
}

// packConv packs nothing in this build (PackWeights keeps w alone).
func packConv(w []float32, K, N int) []float32 { return nil }

func copyShort(dst, src []float32) { copyShortScalar(dst, src) }

func relu(out, x []float32)                        { reluScalar(out, x) }
func relu6(out, x []float32)                       { relu6Scalar(out, x) }
func hardSwish(out, x []float32, k, shift float32) { hardSwishScalar(out, x, k, shift) }
func addBias(row, b []float32)                     { addBiasScalar(row, b) }
func axpy1(y, x []float32, a float32)              { axpy1Scalar(y, x, a) }

func axpy4x1(y, x0, x1, x2, x3 []float32, a0, a1, a2, a3 float32) {
	axpy4x1Scalar(y, x0, x1, x2, x3, a0, a1, a2, a3)
}

func axpy4x2(y0, y1, x0, x1, x2, x3 []float32, a0, a1, a2, a3, b0, b1, b2, b3 float32) {
	axpy4x2Scalar(y0, y1, x0, x1, x2, x3, a0, a1, a2, a3, b0, b1, b2, b3)
}

func depthwise(out, x, w, b []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	depthwiseScalar(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW, act)
}

func elementwise(out, a, b []float32, op Binary) { elementwiseScalar(out, a, b, op) }

func meanHW(o, x []float32, P, C int) { meanHWScalar(o, x, P, C) }
