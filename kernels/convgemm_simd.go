//go:build goexperiment.simd && wasm

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// convOuterMinM chooses ConvGemm's form. The outer-product form (gemmPanels: blocks of 4 rows × 8
// outputs over weights packed in panels of eight outputs) beats the dot-product form (gemmDotAct,
// which adds up four lanes per output at the end) at every shape of both backbones that has a
// full block of rows, once its weights are packed: measured in Node by CPU time (GFLOP/s, packed
// outer vs dot, medians of 3): 15.7 vs 12.3 at M=12544 K=24 N=144, 19.7 vs 16.2 at M=3136 K=72
// N=24, 22.5 vs 20.8 at M=196 K=528 N=88, 21.9 vs 19.5 at M=49 K=720 N=120, 21.5 vs 18.8 at M=49
// K=224 N=1344, 23.1 vs 20.5 at M=49 K=1344 N=448. Before the panels it read the weights
// transposed to (K,N), strides N apart, and lost to the dot form at K > 192. So: the outer form
// wherever there are at least convOuterMinM rows and the outputs come in whole panels of eight
// (and for K ≤ smallK at any M and N ≥ 8, where the dot form's lane sums cost more than its vector
// steps); the dot form for the rest: the squeeze-and-excitation convolutions on one pixel, and
// output counts like a classifier's 10, whose last N mod 8 outputs the outer form computes one
// product at a time (2.5 GFLOP/s at M=1000 K=1280 N=10, against 18 for the dot form). A convolution's M is its pixel count, the same
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
	case N >= 8 && (K <= smallK || M >= convOuterMinM && N%8 == 0):
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

// conv2DDirect is Conv2D for a window larger than one pixel without the im2col matrix, where the
// outer-product form runs: each block of four output pixels × eight outputs reads its taps from x
// itself (vconv4xN; each kernel row of a window is KW·C contiguous values of x), and only the
// pixels whose window crosses the border, or that are left over from a group of four, go through
// im2col rows and gemmPanels. Both add each output's K products in im2col's (kh, kw, c) order from
// zero, then the bias, then the activation: the bits of im2col and the gemm. (The RGB stem, 3×3
// stride 2 to 16 outputs: 1.8 ms in Node with its im2col, of which the im2col was 0.6.) It reports
// false, having done nothing, for a shape it does not take: N not a multiple of eight, or the
// rows or K too few for the outer-product form.
func conv2DDirect(out, x, w, panels, b, col []float32, H, W, C, N, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) bool {
	K := KH * KW * C
	if K < 4 || N < 8 || N%8 != 0 || OH*OW < convOuterMinM {
		return false
	}
	if panels == nil {
		var buf *[]float32
		buf, panels = takePanels(w, K, N)
		defer packBuf.Store(buf)
	}
	var bp unsafe.Pointer
	if b != nil {
		bp = unsafe.Pointer(&b[:N][0])
	}
	_ = panels[N*K-1]
	owLo := min(OW, (padLeft+stride-1)/stride)
	owHi := max(owLo, min(OW, (W-KW+padLeft)/stride+1))
	edge := func(oh, ow0, ow1 int) {
		if ow0 < ow1 {
			im2colPixels(col, x, H, W, C, KH, KW, stride, padTop, padLeft, oh, ow0, ow1)
			gemmPanels(out[(oh*OW+ow0)*N:], col, w, panels, b, ow1-ow0, K, N, act)
		}
	}
	for oh := 0; oh < OH; oh++ {
		ih0 := oh*stride - padTop
		lo, hi := owLo, owHi
		if ih0 < 0 || ih0+KH > H {
			lo, hi = 0, 0
		}
		hi = lo + (hi-lo)&^3
		edge(oh, 0, lo)
		if hi > lo {
			xo := (ih0*W + lo*stride - padLeft) * C
			_ = x[xo+((KH-1)*W+KW-1+(hi-lo-1)*stride)*C+C-1]
			_ = out[(oh*OW+hi)*N-1]
			vconv4xN(unsafe.Pointer(&out[(oh*OW+lo)*N]), unsafe.Pointer(&x[xo]), unsafe.Pointer(&panels[0]), bp,
				uintptr(stride*C)*4, uintptr(W*C)*4, KH, KW*C, N, (hi-lo)/4, act)
		}
		edge(oh, hi, OW)
	}
	return true
}

// vconv4xN computes groups·4 consecutive output pixels of one row, all N outputs (a multiple of
// eight), as vouter4xN does over im2col rows but reading the taps from x: o points at the first
// pixel's outputs, x at its window's top-left tap; the pixels' windows start pstep bytes apart,
// a window's kernel rows rstep bytes apart, each KWC contiguous values; panels and bias as in
// vouter4xN. Each output adds its KH·KWC products in that order, from zero, then the bias.
func vconv4xN(o, x, panels, bias unsafe.Pointer, pstep, rstep uintptr, KH, KWC, N, groups int, act FusedAct) {
	K := KH * KWC
	for g := 0; g < groups; g++ {
		for n := 0; n < N; n += 8 {
			wp := unsafe.Add(panels, n*K*4)
			var s00, s01, s10, s11, s20, s21, s30, s31 archsimd.Float32x4
			row := x
			for kh := 0; kh < KH; kh++ {
				x0 := row
				x1 := unsafe.Add(x0, pstep)
				x2 := unsafe.Add(x1, pstep)
				x3 := unsafe.Add(x2, pstep)
				for i := KWC; i > 0; i-- {
					w0, w1 := ld(wp), ld(unsafe.Add(wp, 16))
					b := archsimd.BroadcastFloat32x4(at(x0, 0))
					s00, s01 = s00.Add(b.Mul(w0)), s01.Add(b.Mul(w1))
					b = archsimd.BroadcastFloat32x4(at(x1, 0))
					s10, s11 = s10.Add(b.Mul(w0)), s11.Add(b.Mul(w1))
					b = archsimd.BroadcastFloat32x4(at(x2, 0))
					s20, s21 = s20.Add(b.Mul(w0)), s21.Add(b.Mul(w1))
					b = archsimd.BroadcastFloat32x4(at(x3, 0))
					s30, s31 = s30.Add(b.Mul(w0)), s31.Add(b.Mul(w1))
					wp = unsafe.Add(wp, 32)
					x0, x1, x2, x3 = unsafe.Add(x0, 4), unsafe.Add(x1, 4), unsafe.Add(x2, 4), unsafe.Add(x3, 4)
				}
				row = unsafe.Add(row, rstep)
			}
			if bias != nil {
				bp := unsafe.Add(bias, n*4)
				b0, b1 := ld(bp), ld(unsafe.Add(bp, 16))
				s00, s01, s10, s11 = s00.Add(b0), s01.Add(b1), s10.Add(b0), s11.Add(b1)
				s20, s21, s30, s31 = s20.Add(b0), s21.Add(b1), s30.Add(b0), s31.Add(b1)
			}
			op, ro := unsafe.Add(o, n*4), uintptr(N)*4
			switch act {
			case FusedNone:
				store4x8(op, ro, s00, s01, s10, s11, s20, s21, s30, s31)
			case FusedRelu:
				store4x8(op, ro, vrelu(s00), vrelu(s01), vrelu(s10), vrelu(s11), vrelu(s20), vrelu(s21), vrelu(s30), vrelu(s31))
			case FusedRelu6:
				store4x8(op, ro, vrelu6(s00), vrelu6(s01), vrelu6(s10), vrelu6(s11), vrelu6(s20), vrelu6(s21), vrelu6(s30), vrelu6(s31))
			default:
				store4x8(op, ro, vact(s00, act), vact(s01, act), vact(s10, act), vact(s11, act),
					vact(s20, act), vact(s21, act), vact(s30, act), vact(s31, act))
			}
		}
		o, x = unsafe.Add(o, uintptr(4*N)*4), unsafe.Add(x, 4*pstep)
	}
}
