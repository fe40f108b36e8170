//go:build goexperiment.simd && wasm

package kernels

// convOuterMinM chooses ConvGemm's form. The outer-product form (gemmPanels: blocks of 4 rows × 8
// outputs over weights packed in panels of eight outputs) beats the dot-product form (gemmDotAct,
// which adds up four lanes per output at the end) at every shape of both backbones that has a
// full block of rows, once its weights are packed: measured in Node by CPU time (GFLOP/s, packed
// outer vs dot, medians of 3): 15.7 vs 12.3 at M=12544 K=24 N=144, 19.7 vs 16.2 at M=3136 K=72
// N=24, 22.5 vs 20.8 at M=196 K=528 N=88, 21.9 vs 19.5 at M=49 K=720 N=120, 21.5 vs 18.8 at M=49
// K=224 N=1344, 23.1 vs 20.5 at M=49 K=1344 N=448. Before the panels it read the weights
// transposed to (K,N), strides N apart, and lost to the dot form at K > 192. So: the outer form
// wherever there are at least convOuterMinM rows and eight outputs (and for K ≤ smallK at any M,
// where the dot form's lane sums cost more than its vector steps); the dot form for the rest, the
// squeeze-and-excitation convolutions on one pixel. A convolution's M is its pixel count, the same
// for every image, so the choice never depends on the batch, and packed or not (ConvGemmPacked
// or ConvGemm) it is the same choice and the same bits; the dense layer keeps gemmNT's own rule,
// which looks at K only.
const convOuterMinM = 4

// convGemm is ConvGemm's SIMD128 form: the gemm in one of its two forms, with the bias and the
// activation applied to each group of rows right after the gemm wrote them (the order gemm,
// bias, activation of the scalar build). panels is w packed by packPanels, or nil to pack it
// here. Sizes are checked.
func convGemm(out, a, w, panels, b []float32, M, K, N int, act FusedAct) {
	switch {
	case M == 0:
	case K < 4:
		gemmNTScalar(out, a, w, M, K, N)
		biasAct(out, b, M, N, act)
	case N >= 8 && (M >= convOuterMinM || K <= smallK):
		if panels == nil {
			gemmOuter(out, a, w, b, M, K, N, act)
		} else {
			gemmPanels(out, a, w, panels, b, M, K, N, act)
		}
	default:
		gemmDotAct(out, a, w, b, M, K, N, act)
	}
}

// packConv returns w (N,K) packed for convGemm's outer-product form.
func packConv(w []float32, K, N int) []float32 {
	p := make([]float32, (N&^7)*K)
	packPanels(p, w, K, N)
	return p
}
