//go:build goexperiment.simd && wasm

package kernels

// convOuterMaxK and convOuterMinM choose ConvGemm's form. The outer-product form (gemmOuter)
// transposes the weights on every call, K·N copies against M·K·N multiply-adds, and beats the
// dot-product form (gemmDotAct), which adds up four lanes per output at the end, up to K = 192
// wherever M pays for the transpose. Measured in Node by CPU time on every 1×1 convolution of
// both backbones (GFLOP/s, outer vs dot): 10.5 vs 4.2 at M=12544 K=16 N=64, 16.1 vs 10.4 at
// M=3136 K=72 N=24, 17.4 vs 14.7 at M=3136 K=144 N=32, 15.4 vs 12.7 at M=196 K=88 N=528, but
// 16.7 vs 17.5 at M=784 K=288 N=48, 16.6 vs 19.4 at M=196 K=528 N=88 and 12.2 vs 16.0 at M=49
// K=224 N=1344; in all, 21.5 ms against 28.4 (centernet) and 77.2 against 85.3 (mobilenetv2) for
// one form alone, 17.8 and 67.3 with this choice. A convolution's M is its pixel count, the same
// for every image, so the choice never depends on the batch; the dense layer keeps gemmNT's own
// rule, which looks at K only.
const (
	convOuterMaxK = 192
	convOuterMinM = 128
)

// convGemm is ConvGemm's SIMD128 form: the gemm in one of its two forms, with the bias and the
// activation applied to each group of rows right after the gemm wrote them (the order gemm,
// bias, activation of the scalar build). Sizes are checked.
func convGemm(out, a, w, b []float32, M, K, N int, act FusedAct) {
	switch {
	case M == 0:
	case K < 4:
		gemmNTScalar(out, a, w, M, K, N)
		biasAct(out, b, M, N, act)
	case N >= 8 && (K <= smallK || K <= convOuterMaxK && M >= convOuterMinM):
		gemmOuter(out, a, w, b, M, K, N, act)
	default:
		gemmDotAct(out, a, w, b, M, K, N, act)
	}
}
