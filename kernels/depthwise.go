package kernels

// DepthwiseConv2D computes a depthwise 2-D convolution (channel multiplier 1) with bias and a fused
// activation, for one NHWC image:
//
//	out[oh,ow,c] = act(b[c] + Σ_{kh,kw} x[oh·stride+kh-padTop, ow·stride+kw-padLeft, c] · w[kh,kw,c])
//
// x is (H,W,C), w is (KH,KW,C) — TF's (KH,KW,C,1) filter as stored — b is (C) or nil, out is
// (OH,OW,C). Taps outside x read zeros (SAME padding).
//
// The loop over c is innermost: every tap is a contiguous multiply-add of two C-vectors into the
// output pixel, which streams memory in order; pixels whose window lies fully inside x skip the
// bounds tests (tapRange gives each pixel's taps inside x once).
func DepthwiseConv2D(out, x, w, b []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	if H <= 0 || W <= 0 || C <= 0 || KH <= 0 || KW <= 0 || stride <= 0 || OH <= 0 || OW <= 0 {
		panic("kernels: DepthwiseConv2D size <= 0")
	}
	if len(x) < H*W*C || len(w) < KH*KW*C || len(out) < OH*OW*C || (b != nil && len(b) < C) {
		panic("kernels: DepthwiseConv2D slice too short")
	}
	depthwise(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW, act)
}

// depthwiseScalar is DepthwiseConv2D's scalar loop; depthwise is it, or its SIMD128 form
// (simd_wasm.go), which adds in the same order and gives the same bits. Sizes are checked.
func depthwiseScalar(out, x, w, b []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	for oh := 0; oh < OH; oh++ {
		ih0 := oh*stride - padTop
		khLo, khHi := tapRange(ih0, KH, H)
		for ow := 0; ow < OW; ow++ {
			iw0 := ow*stride - padLeft
			kwLo, kwHi := tapRange(iw0, KW, W)
			o := out[(oh*OW+ow)*C:][:C]
			if b != nil {
				copy(o, b[:C])
			} else {
				clear(o)
			}
			for kh := khLo; kh < khHi; kh++ {
				xr := x[(ih0+kh)*W*C:][:W*C]
				wr := w[kh*KW*C:][:KW*C]
				for kw := kwLo; kw < kwHi; kw++ {
					xs := xr[(iw0+kw)*C:][:C]
					ws := wr[kw*C:][:C]
					c := 0
					for ; c+4 <= C; c += 4 {
						o[c] += xs[c] * ws[c]
						o[c+1] += xs[c+1] * ws[c+1]
						o[c+2] += xs[c+2] * ws[c+2]
						o[c+3] += xs[c+3] * ws[c+3]
					}
					for ; c < C; c++ {
						o[c] += xs[c] * ws[c]
					}
				}
			}
			actApply(o, act)
		}
	}
}

// depthwiseConv2DNaive is DepthwiseConv2D's reference: the formula in its doc comment.
func depthwiseConv2DNaive(out, x, w, b []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	for oh := 0; oh < OH; oh++ {
		for ow := 0; ow < OW; ow++ {
			for c := 0; c < C; c++ {
				var s float32
				if b != nil {
					s = b[c]
				}
				for kh := 0; kh < KH; kh++ {
					for kw := 0; kw < KW; kw++ {
						ih := oh*stride + kh - padTop
						iw := ow*stride + kw - padLeft
						if ih < 0 || ih >= H || iw < 0 || iw >= W {
							continue
						}
						s += x[(ih*W+iw)*C+c] * w[(kh*KW+kw)*C+c]
					}
				}
				out[(oh*OW+ow)*C+c] = s
			}
		}
	}
	actApply(out[:OH*OW*C], act)
}

// DepthwiseConv2DBackward accumulates the gradients of DepthwiseConv2D, taken before its fused
// activation (run ActBackward on the output's gradient first):
//
//	dout (OH,OW,C), x (H,W,C), w (KH,KW,C)
//	dw (KH,KW,C) += Σ_{oh,ow} dout[oh,ow,c] · x[oh·stride+kh-padTop, ow·stride+kw-padLeft, c] (nil: skipped)
//	db (C)       += Σ_{oh,ow} dout[oh,ow,c]                          (skipped when db is nil)
//	dx (H,W,C)   += Σ over the taps that read x[ih,iw,c] of dout[oh,ow,c] · w[kh,kw,c] (nil: skipped)
//
// The same walk as the forward pass, c innermost: each tap is two contiguous C-vector updates.
func DepthwiseConv2DBackward(dx, dw, db, dout, x, w []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int) {
	if H <= 0 || W <= 0 || C <= 0 || KH <= 0 || KW <= 0 || stride <= 0 || OH <= 0 || OW <= 0 {
		panic("kernels: DepthwiseConv2DBackward size <= 0")
	}
	if len(x) < H*W*C || len(w) < KH*KW*C || len(dout) < OH*OW*C || (dw != nil && len(dw) < KH*KW*C) ||
		(db != nil && len(db) < C) || (dx != nil && len(dx) < H*W*C) {
		panic("kernels: DepthwiseConv2DBackward slice too short")
	}
	for oh := 0; oh < OH; oh++ {
		ih0 := oh*stride - padTop
		khLo, khHi := tapRange(ih0, KH, H)
		for ow := 0; ow < OW; ow++ {
			iw0 := ow*stride - padLeft
			kwLo, kwHi := tapRange(iw0, KW, W)
			g := dout[(oh*OW+ow)*C:][:C]
			if db != nil {
				for c, v := range g {
					db[c] += v
				}
			}
			for kh := khLo; kh < khHi; kh++ {
				ih := ih0 + kh
				for kw := kwLo; kw < kwHi; kw++ {
					iw := iw0 + kw
					if dw != nil {
						xs := x[(ih*W+iw)*C:][:C]
						dws := dw[(kh*KW+kw)*C:][:C]
						for c, v := range g {
							dws[c] += v * xs[c]
						}
					}
					if dx != nil {
						ws := w[(kh*KW+kw)*C:][:C]
						dxs := dx[(ih*W+iw)*C:][:C]
						for c, v := range g {
							dxs[c] += v * ws[c]
						}
					}
				}
			}
		}
	}
}

// depthwiseConv2DBackwardNaive is DepthwiseConv2DBackward's reference: the sums of its doc
// comment, channel outermost.
func depthwiseConv2DBackwardNaive(dx, dw, db, dout, x, w []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int) {
	for c := 0; c < C; c++ {
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OW; ow++ {
				g := dout[(oh*OW+ow)*C+c]
				if db != nil {
					db[c] += g
				}
				for kh := 0; kh < KH; kh++ {
					for kw := 0; kw < KW; kw++ {
						ih := oh*stride + kh - padTop
						iw := ow*stride + kw - padLeft
						if ih < 0 || ih >= H || iw < 0 || iw >= W {
							continue
						}
						if dw != nil {
							dw[(kh*KW+kw)*C+c] += g * x[(ih*W+iw)*C+c]
						}
						if dx != nil {
							dx[(ih*W+iw)*C+c] += g * w[(kh*KW+kw)*C+c]
						}
					}
				}
			}
		}
	}
}
