package kernels

// MeanHW averages x (H,W,C) over its two spatial dimensions into out (C): global average pooling.
//
//	out[c] = (1/(H·W)) Σ_{h,w} x[h,w,c]
//
// Sums run in float32 in pixel order, as TF.js's wasm backend does, then divide once.
func MeanHW(out, x []float32, H, W, C int) {
	if H <= 0 || W <= 0 || C <= 0 {
		panic("kernels: MeanHW size <= 0")
	}
	if len(out) < C || len(x) < H*W*C {
		panic("kernels: MeanHW slice too short")
	}
	meanHW(out[:C], x[:H*W*C], H*W, C)
}

// meanHWScalar is MeanHW's loop over P = H·W pixels; meanHW is it, or its SIMD128 form
// (simd_wasm.go), which adds each channel in the same pixel order (same bits).
func meanHWScalar(o, x []float32, P, C int) {
	clear(o)
	for p := 0; p < P; p++ {
		xs := x[p*C:][:C]
		for c, v := range xs {
			o[c] += v
		}
	}
	inv := float32(P)
	for c := range o {
		o[c] /= inv
	}
}

// AvgPool2D averages windows of x (H,W,C) into out (OH,OW,C):
//
//	out[oh,ow,c] = mean over the taps (kh,kw) inside x of x[oh·stride+kh-padTop, ow·stride+kw-padLeft, c]
//
// Taps in the padding are left out of the count, as in TF's SAME average pooling; with VALID
// padding (padTop = padLeft = 0 and windows inside x) every window has KH·KW taps.
func AvgPool2D(out, x []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int) {
	if H <= 0 || W <= 0 || C <= 0 || KH <= 0 || KW <= 0 || stride <= 0 || OH <= 0 || OW <= 0 {
		panic("kernels: AvgPool2D size <= 0")
	}
	if len(out) < OH*OW*C || len(x) < H*W*C {
		panic("kernels: AvgPool2D slice too short")
	}
	for oh := 0; oh < OH; oh++ {
		ih0 := oh*stride - padTop
		khLo, khHi := tapRange(ih0, KH, H)
		for ow := 0; ow < OW; ow++ {
			iw0 := ow*stride - padLeft
			kwLo, kwHi := tapRange(iw0, KW, W)
			o := out[(oh*OW+ow)*C:][:C]
			clear(o)
			n := max(0, khHi-khLo) * max(0, kwHi-kwLo)
			for kh := khLo; kh < khHi; kh++ {
				for kw := kwLo; kw < kwHi; kw++ {
					for c, v := range x[((ih0+kh)*W+iw0+kw)*C:][:C] {
						o[c] += v
					}
				}
			}
			if n > 0 {
				inv := float32(n)
				for c := range o {
					o[c] /= inv
				}
			}
		}
	}
}

// MeanHWBackward accumulates the gradient of MeanHW: every pixel of channel c gets an equal share.
//
//	dout (C), dx (H,W,C)
//	dx[h,w,c] += dout[c] / (H·W)
func MeanHWBackward(dx, dout []float32, H, W, C int) {
	if H <= 0 || W <= 0 || C <= 0 {
		panic("kernels: MeanHWBackward size <= 0")
	}
	if len(dout) < C || len(dx) < H*W*C {
		panic("kernels: MeanHWBackward slice too short")
	}
	inv := 1 / float32(H*W)
	g := dout[:C]
	for p := 0; p < H*W; p++ {
		d := dx[p*C:][:C]
		for c, v := range g {
			d[c] += v * inv
		}
	}
}

// AvgPool2DBackward accumulates the gradient of AvgPool2D: each window's gradient, divided by the
// number of its taps inside x, goes back to those taps.
//
//	dout (OH,OW,C), dx (H,W,C)
func AvgPool2DBackward(dx, dout []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int) {
	if H <= 0 || W <= 0 || C <= 0 || KH <= 0 || KW <= 0 || stride <= 0 || OH <= 0 || OW <= 0 {
		panic("kernels: AvgPool2DBackward size <= 0")
	}
	if len(dout) < OH*OW*C || len(dx) < H*W*C {
		panic("kernels: AvgPool2DBackward slice too short")
	}
	for oh := 0; oh < OH; oh++ {
		h0, h1 := max(oh*stride-padTop, 0), min(oh*stride-padTop+KH, H)
		for ow := 0; ow < OW; ow++ {
			w0, w1 := max(ow*stride-padLeft, 0), min(ow*stride-padLeft+KW, W)
			n := (h1 - h0) * (w1 - w0)
			if n <= 0 {
				continue
			}
			inv := 1 / float32(n)
			g := dout[(oh*OW+ow)*C:][:C]
			for ih := h0; ih < h1; ih++ {
				for iw := w0; iw < w1; iw++ {
					d := dx[(ih*W+iw)*C:][:C]
					for c, v := range g {
						d[c] += v * inv
					}
				}
			}
		}
	}
}
