//go:build goexperiment.simd && wasm

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// SIMD names the kernel path this build runs: "simd128" here (GOOS=js GOARCH=wasm built by Go
// 1.27 with GOEXPERIMENT=simd), "scalar" everywhere else (simd_off.go).
const SIMD = "simd128"

// ld loads the four float32 at p. Callers have checked the bounds.
func ld(p unsafe.Pointer) archsimd.Float32x4 {
	return archsimd.LoadFloat32x4Array((*[4]float32)(p))
}

// ldAt loads the four float32 starting i elements past p; stAt stores them. Callers have checked
// the bounds.
func ldAt(p unsafe.Pointer, i int) archsimd.Float32x4 { return ld(unsafe.Add(p, uintptr(i)*4)) }

func stAt(p unsafe.Pointer, i int, v archsimd.Float32x4) {
	v.StoreArray((*[4]float32)(unsafe.Add(p, uintptr(i)*4)))
}

// The element-wise kernels below work four lanes at a time with exactly the scalar loops'
// operations (compare and select, not f32x4.max, whose max(-0, 0) is +0 where the scalar keeps -0),
// so they give the scalar kernels' bits; the last len mod 4 elements run the scalar loop.

func vrelu(v archsimd.Float32x4) archsimd.Float32x4 {
	var zero archsimd.Float32x4
	return zero.IfElse(v.Less(zero), v)
}

func vrelu6(v archsimd.Float32x4) archsimd.Float32x4 {
	var zero archsimd.Float32x4
	six := archsimd.BroadcastFloat32x4(6)
	v = zero.IfElse(v.Less(zero), v)
	return six.IfElse(v.Greater(six), v)
}

func vhardSwish(v, k, shift archsimd.Float32x4) archsimd.Float32x4 {
	return v.Mul(k).Mul(vrelu6(v.Add(shift)))
}

// vact applies a fused activation to four lanes, as actApply does.
func vact(v archsimd.Float32x4, act FusedAct) archsimd.Float32x4 {
	switch act {
	case FusedRelu:
		return vrelu(v)
	case FusedRelu6:
		return vrelu6(v)
	case FusedHardSwish:
		return vhardSwish(v, archsimd.BroadcastFloat32x4(1.0/6), archsimd.BroadcastFloat32x4(3))
	}
	return v
}

// copyShort is copyShortScalar four lanes at a time (a copy: the same bits).
func copyShort(dst, src []float32) {
	n := len(src) &^ 3
	dst = dst[:len(src)]
	for i := 0; i < n; i += 4 {
		archsimd.LoadFloat32x4(src[i:]).Store(dst[i:])
	}
	for i := n; i < len(src); i++ {
		dst[i] = src[i]
	}
}

// The loops walk pointers, not slices: indexing a slice four lanes at a time costs a bounds test
// and a slice header per load, and ran 2–3× slower in Node (Elementwise's add: 0.84 ns per
// element against 0.28; hard-swish 0.59 against 0.44, on 150528 values).

// vecs returns the number of whole vectors of four in the first n elements and pointers to the
// first element of x and y (nil, nil when there is no whole vector), after checking that both hold
// that many.
func vecs(n int, x, y []float32) (nv int, px, py unsafe.Pointer) {
	nv = n / 4
	if nv == 0 {
		return 0, nil, nil
	}
	_, _ = x[nv*4-1], y[nv*4-1]
	return nv, unsafe.Pointer(&x[0]), unsafe.Pointer(&y[0])
}

func relu(out, x []float32) {
	nv, po, px := vecs(len(x), out, x)
	for ; nv > 0; nv-- {
		stAt(po, 0, vrelu(ld(px)))
		po, px = unsafe.Add(po, 16), unsafe.Add(px, 16)
	}
	n := len(x) &^ 3
	reluScalar(out[n:len(x)], x[n:])
}

func relu6(out, x []float32) {
	nv, po, px := vecs(len(x), out, x)
	for ; nv > 0; nv-- {
		stAt(po, 0, vrelu6(ld(px)))
		po, px = unsafe.Add(po, 16), unsafe.Add(px, 16)
	}
	n := len(x) &^ 3
	relu6Scalar(out[n:len(x)], x[n:])
}

func hardSwish(out, x []float32, k, shift float32) {
	vk, vs := archsimd.BroadcastFloat32x4(k), archsimd.BroadcastFloat32x4(shift)
	nv, po, px := vecs(len(x), out, x)
	for ; nv > 0; nv-- {
		stAt(po, 0, vhardSwish(ld(px), vk, vs))
		po, px = unsafe.Add(po, 16), unsafe.Add(px, 16)
	}
	n := len(x) &^ 3
	hardSwishScalar(out[n:len(x)], x[n:], k, shift)
}

func addBias(row, b []float32) {
	nv, pr, pb := vecs(len(b), row, b)
	for ; nv > 0; nv-- {
		stAt(pr, 0, ld(pr).Add(ld(pb)))
		pr, pb = unsafe.Add(pr, 16), unsafe.Add(pb, 16)
	}
	n := len(b) &^ 3
	addBiasScalar(row[n:len(b)], b[n:])
}

// The axpy kernels of LinearBackward, four lanes at a time with the scalar loops' expression
// (same bits); the last D mod 4 elements run the scalar loop. D = len(y) > 0.

func axpy4x2(y0, y1, x0, x1, x2, x3 []float32, a0, a1, a2, a3, b0, b1, b2, b3 float32) {
	D := len(y0)
	va0, va1, va2, va3 := archsimd.BroadcastFloat32x4(a0), archsimd.BroadcastFloat32x4(a1), archsimd.BroadcastFloat32x4(a2), archsimd.BroadcastFloat32x4(a3)
	vb0, vb1, vb2, vb3 := archsimd.BroadcastFloat32x4(b0), archsimd.BroadcastFloat32x4(b1), archsimd.BroadcastFloat32x4(b2), archsimd.BroadcastFloat32x4(b3)
	nv, py0, py1 := vecs(D, y0, y1)
	_, p0, p1 := vecs(D, x0, x1)
	_, p2, p3 := vecs(D, x2, x3)
	for ; nv > 0; nv-- {
		v0, v1, v2, v3 := ld(p0), ld(p1), ld(p2), ld(p3)
		stAt(py0, 0, ld(py0).Add(va0.Mul(v0).Add(va1.Mul(v1)).Add(va2.Mul(v2).Add(va3.Mul(v3)))))
		stAt(py1, 0, ld(py1).Add(vb0.Mul(v0).Add(vb1.Mul(v1)).Add(vb2.Mul(v2).Add(vb3.Mul(v3)))))
		py0, py1 = unsafe.Add(py0, 16), unsafe.Add(py1, 16)
		p0, p1, p2, p3 = unsafe.Add(p0, 16), unsafe.Add(p1, 16), unsafe.Add(p2, 16), unsafe.Add(p3, 16)
	}
	if n := D &^ 3; n < D {
		axpy4x2Scalar(y0[n:], y1[n:D], x0[n:D], x1[n:D], x2[n:D], x3[n:D], a0, a1, a2, a3, b0, b1, b2, b3)
	}
}

func axpy4x1(y, x0, x1, x2, x3 []float32, a0, a1, a2, a3 float32) {
	D := len(y)
	va0, va1, va2, va3 := archsimd.BroadcastFloat32x4(a0), archsimd.BroadcastFloat32x4(a1), archsimd.BroadcastFloat32x4(a2), archsimd.BroadcastFloat32x4(a3)
	nv, py, p0 := vecs(D, y, x0)
	_, p1, p2 := vecs(D, x1, x2)
	_, p3, _ := vecs(D, x3, x3)
	for ; nv > 0; nv-- {
		v0, v1, v2, v3 := ld(p0), ld(p1), ld(p2), ld(p3)
		stAt(py, 0, ld(py).Add(va0.Mul(v0).Add(va1.Mul(v1)).Add(va2.Mul(v2).Add(va3.Mul(v3)))))
		py = unsafe.Add(py, 16)
		p0, p1, p2, p3 = unsafe.Add(p0, 16), unsafe.Add(p1, 16), unsafe.Add(p2, 16), unsafe.Add(p3, 16)
	}
	if n := D &^ 3; n < D {
		axpy4x1Scalar(y[n:], x0[n:D], x1[n:D], x2[n:D], x3[n:D], a0, a1, a2, a3)
	}
}

func axpy1(y, x []float32, a float32) {
	D := len(y)
	va := archsimd.BroadcastFloat32x4(a)
	nv, py, px := vecs(D, y, x)
	for ; nv > 0; nv-- {
		stAt(py, 0, ld(py).Add(va.Mul(ld(px))))
		py, px = unsafe.Add(py, 16), unsafe.Add(px, 16)
	}
	if n := D &^ 3; n < D {
		axpy1Scalar(y[n:], x[n:D], a)
	}
}

// depthwise is DepthwiseConv2D's SIMD128 form: per output pixel, channels eight (then four) at a
// time, each channel's sum kept in a register over all the taps inside x and stored once; the
// activation then runs over each output row while it is in the cache (an activation inside the
// kernels' loops cost them 15–20% in Node even when it was none, for reasons of V8's code). Each
// channel adds exactly as the scalar loop does (bias or zero, then the taps in (kh, kw) order),
// so the bits are the same; channels past the last multiple of four run the scalar order one by
// one. Sizes are checked.
func depthwise(out, x, w, b []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	if C < 4 {
		depthwiseScalar(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW, act)
		return
	}
	if (KH != 3 || KW != 3) && KW != 5 {
		for oh := 0; oh < OH; oh++ {
			depthwisePixels(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OW, oh, 0, OW)
			actApply(out[oh*OW*C:(oh+1)*OW*C], act)
		}
		return
	}
	// 3×3 and KH×5: the pixels whose window lies inside x go through depthwise3x3Row, or four at
	// a time through depthwiseK5Row4 (stride 1) and the rest through depthwiseK5Row; the border
	// through the general loop. (Four pixels at a time did not help 3×3 in Node: 10.3–10.9
	// GFLOP/s against 10.2–10.4 at 56×56×72, none at 14×14×528; for 5×5 it took 28×28×96 from
	// 0.55 ms to 0.34.)
	owLo := min(OW, (padLeft+stride-1)/stride)
	owHi := max(owLo, min(OW, (W-KW+padLeft)/stride+1))
	for oh := 0; oh < OH; oh++ {
		if ih0 := oh*stride - padTop; ih0 < 0 || ih0+KH > H || owLo == owHi {
			depthwisePixels(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OW, oh, 0, OW)
			actApply(out[oh*OW*C:(oh+1)*OW*C], act)
			continue
		}
		depthwisePixels(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OW, oh, 0, owLo)
		if KW == 3 {
			depthwise3x3Row(out, x, w, b, W, C, stride, padTop, padLeft, OW, oh, owLo, owHi)
		} else {
			lo := owLo
			if stride == 1 && owHi-owLo >= 4 {
				lo = owLo + (owHi-owLo)&^3
				depthwiseK5Row4(out, x, w, b, W, C, KH, padTop, padLeft, OW, oh, owLo, lo)
			}
			if lo < owHi {
				depthwiseK5Row(out, x, w, b, W, C, KH, stride, padTop, padLeft, OW, oh, lo, owHi)
			}
		}
		depthwisePixels(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OW, oh, owHi, OW)
		actApply(out[oh*OW*C:(oh+1)*OW*C], act)
	}
}

// depthwiseK5Row4 computes output pixels owLo..owHi (a multiple of four of them) of row oh of a
// stride-1 KH×5 depthwise convolution whose windows all lie inside x: four channels and four
// pixels at a time, the four sums in registers over all KH·5 taps. Neighbouring pixels share
// their inputs (pixel j reads columns j..j+4), so each kernel row loads its five weight vectors
// and eight input vectors for twenty multiply-adds, where one pixel at a time loads five inputs
// for five. Each sum adds the bias, then the taps in (kh, kw) order: the scalar loop's bits. The
// last C mod 4 channels run the scalar order. C ≥ 4.
func depthwiseK5Row4(out, x, w, b []float32, W, C, KH, padTop, padLeft, OW, oh, owLo, owHi int) {
	ih0 := oh - padTop
	xr := (ih0*W + owLo - padLeft) * C
	or := (oh*OW + owLo) * C
	n := owHi - owLo
	_ = x[xr+((KH-1)*W+4+n-1)*C+C-1]
	_ = out[or+n*C-1]
	_ = w[KH*5*C-1]
	c4, r4 := uintptr(C)*4, uintptr(W*C)*4
	c := 0
	for ; c+4 <= C; c += 4 {
		var bv archsimd.Float32x4
		if b != nil {
			bv = archsimd.LoadFloat32x4(b[c : c+4])
		}
		p0, q := unsafe.Pointer(&x[xr+c]), unsafe.Pointer(&out[or+c])
		for g := n / 4; g > 0; g-- {
			s0, s1, s2, s3 := bv, bv, bv, bv
			wp, p := unsafe.Pointer(&w[c]), p0
			for kh := KH; ; {
				w0, w1, w2 := ld(wp), ld(unsafe.Add(wp, c4)), ld(unsafe.Add(wp, 2*c4))
				w3, w4 := ld(unsafe.Add(wp, 3*c4)), ld(unsafe.Add(wp, 4*c4))
				v := ld(p)
				s0 = s0.Add(v.Mul(w0))
				v = ld(unsafe.Add(p, c4))
				s0, s1 = s0.Add(v.Mul(w1)), s1.Add(v.Mul(w0))
				v = ld(unsafe.Add(p, 2*c4))
				s0, s1, s2 = s0.Add(v.Mul(w2)), s1.Add(v.Mul(w1)), s2.Add(v.Mul(w0))
				v = ld(unsafe.Add(p, 3*c4))
				s0, s1, s2, s3 = s0.Add(v.Mul(w3)), s1.Add(v.Mul(w2)), s2.Add(v.Mul(w1)), s3.Add(v.Mul(w0))
				v = ld(unsafe.Add(p, 4*c4))
				s0, s1, s2, s3 = s0.Add(v.Mul(w4)), s1.Add(v.Mul(w3)), s2.Add(v.Mul(w2)), s3.Add(v.Mul(w1))
				v = ld(unsafe.Add(p, 5*c4))
				s1, s2, s3 = s1.Add(v.Mul(w4)), s2.Add(v.Mul(w3)), s3.Add(v.Mul(w2))
				v = ld(unsafe.Add(p, 6*c4))
				s2, s3 = s2.Add(v.Mul(w4)), s3.Add(v.Mul(w3))
				v = ld(unsafe.Add(p, 7*c4))
				s3 = s3.Add(v.Mul(w4))
				if kh--; kh == 0 {
					break
				}
				wp, p = unsafe.Add(wp, 5*c4), unsafe.Add(p, r4)
			}
			stAt(q, 0, s0)
			stAt(unsafe.Add(q, c4), 0, s1)
			stAt(unsafe.Add(q, 2*c4), 0, s2)
			stAt(unsafe.Add(q, 3*c4), 0, s3)
			p0, q = unsafe.Add(p0, 4*c4), unsafe.Add(q, 4*c4)
		}
	}
	if c < C {
		depthwiseTail(out, x, w, b, W, C, KH, 5, 1, xr, or, n, c)
	}
}

// depthwiseK5Row is depthwise3x3Row for a KH×5 window (MobileNetV3's 5×5): 25 weight vectors
// do not fit in the registers, so each kernel row is one pass over the pixels with its five
// weight vectors held, the running sums kept in out between passes (a float32 stored and loaded
// back is the same float32, so the sums and their order are exactly the scalar loop's: the bias,
// then the taps in (kh, kw) order). The last C mod 4 channels run the scalar order. C ≥ 4, owLo < owHi.
func depthwiseK5Row(out, x, w, b []float32, W, C, KH, stride, padTop, padLeft, OW, oh, owLo, owHi int) {
	ih0 := oh*stride - padTop
	xr := (ih0*W + owLo*stride - padLeft) * C
	or := (oh*OW + owLo) * C
	n := owHi - owLo
	_ = x[xr+(((KH-1)*W+4)+(n-1)*stride)*C+C-1]
	_ = out[or+n*C-1]
	_ = w[KH*5*C-1]
	c4, r4 := uintptr(C)*4, uintptr(W*C)*4
	step := uintptr(stride*C) * 4
	c := 0
	for ; c+4 <= C; c += 4 {
		var bv archsimd.Float32x4
		if b != nil {
			bv = archsimd.LoadFloat32x4(b[c : c+4])
		}
		for kh := 0; kh < KH; kh++ {
			wb := unsafe.Pointer(&w[kh*5*C+c])
			w0, w1, w2 := ld(wb), ld(unsafe.Add(wb, c4)), ld(unsafe.Add(wb, 2*c4))
			w3, w4 := ld(unsafe.Add(wb, 3*c4)), ld(unsafe.Add(wb, 4*c4))
			first := kh == 0
			p := unsafe.Add(unsafe.Pointer(&x[xr+c]), uintptr(kh)*r4)
			q := unsafe.Pointer(&out[or+c])
			for k := n; ; {
				s := bv
				if !first {
					s = ld(q)
				}
				s = s.Add(ld(p).Mul(w0))
				s = s.Add(ld(unsafe.Add(p, c4)).Mul(w1))
				s = s.Add(ld(unsafe.Add(p, 2*c4)).Mul(w2))
				s = s.Add(ld(unsafe.Add(p, 3*c4)).Mul(w3))
				s = s.Add(ld(unsafe.Add(p, 4*c4)).Mul(w4))
				s.StoreArray((*[4]float32)(q))
				if k--; k == 0 {
					break
				}
				p, q = unsafe.Add(p, step), unsafe.Add(q, c4)
			}
		}
	}
	if c < C {
		depthwiseTail(out, x, w, b, W, C, KH, 5, stride, xr, or, n, c)
	}
}

// depthwiseTail computes channels c..C of n pixels of one output row whose windows lie inside x,
// in the scalar order.
func depthwiseTail(out, x, w, b []float32, W, C, KH, KW, stride, xr, or, n, c int) {
	for i := 0; i < n; i++ {
		xo := xr + i*stride*C
		for j := c; j < C; j++ {
			var s float32
			if b != nil {
				s = b[j]
			}
			for kh := 0; kh < KH; kh++ {
				for kw := 0; kw < KW; kw++ {
					s += x[xo+(kh*W+kw)*C+j] * w[(kh*KW+kw)*C+j]
				}
			}
			out[or+i*C+j] = s
		}
	}
}

// depthwise3x3Row computes output pixels owLo..owHi of row oh of a 3×3 depthwise convolution whose
// windows all lie inside x: four channels at a time, their nine weight vectors (and the bias)
// held in registers while the pixels of the row go by, each pixel nine loads, nine multiply-adds
// in (kh, kw) order from the bias, and one store. The last C mod 4 channels run the scalar order.
// C ≥ 4, owLo < owHi.
func depthwise3x3Row(out, x, w, b []float32, W, C, stride, padTop, padLeft, OW, oh, owLo, owHi int) {
	ih0 := oh*stride - padTop
	xr := (ih0*W + owLo*stride - padLeft) * C // the first window's top-left tap
	or := (oh*OW + owLo) * C
	n := owHi - owLo
	_ = x[xr+((2*W+2)+(n-1)*stride)*C+C-1]
	_ = out[or+n*C-1]
	_ = w[9*C-1]
	c4, r4 := uintptr(C)*4, uintptr(W*C)*4
	step, ostep := uintptr(stride*C)*4, c4
	c := 0
	for ; c+4 <= C; c += 4 {
		wb := unsafe.Pointer(&w[c])
		w0, w1, w2 := ld(wb), ld(unsafe.Add(wb, c4)), ld(unsafe.Add(wb, 2*c4))
		w3, w4, w5 := ld(unsafe.Add(wb, 3*c4)), ld(unsafe.Add(wb, 4*c4)), ld(unsafe.Add(wb, 5*c4))
		w6, w7, w8 := ld(unsafe.Add(wb, 6*c4)), ld(unsafe.Add(wb, 7*c4)), ld(unsafe.Add(wb, 8*c4))
		var bv archsimd.Float32x4
		if b != nil {
			bv = archsimd.LoadFloat32x4(b[c : c+4])
		}
		p, q := unsafe.Pointer(&x[xr+c]), unsafe.Pointer(&out[or+c])
		for k := n; ; {
			p1, p2 := unsafe.Add(p, r4), unsafe.Add(p, 2*r4)
			s := bv.Add(ld(p).Mul(w0))
			s = s.Add(ld(unsafe.Add(p, c4)).Mul(w1))
			s = s.Add(ld(unsafe.Add(p, 2*c4)).Mul(w2))
			s = s.Add(ld(p1).Mul(w3))
			s = s.Add(ld(unsafe.Add(p1, c4)).Mul(w4))
			s = s.Add(ld(unsafe.Add(p1, 2*c4)).Mul(w5))
			s = s.Add(ld(p2).Mul(w6))
			s = s.Add(ld(unsafe.Add(p2, c4)).Mul(w7))
			s = s.Add(ld(unsafe.Add(p2, 2*c4)).Mul(w8))
			s.StoreArray((*[4]float32)(q))
			if k--; k == 0 {
				break
			}
			p, q = unsafe.Add(p, step), unsafe.Add(q, ostep)
		}
	}
	if c < C {
		depthwiseTail(out, x, w, b, W, C, 3, 3, stride, xr, or, n, c)
	}
}

// depthwisePixels computes output pixels owLo..owHi of row oh, each over the taps of its window
// that lie inside x: channels eight, then four at a time, each channel's sum kept in a register
// over the taps and stored once; channels past the last multiple of four one by one.
func depthwisePixels(out, x, w, b []float32, H, W, C, KH, KW, stride, padTop, padLeft, OW, oh, owLo, owHi int) {
	xb, wb, ob := unsafe.Pointer(&x[0]), unsafe.Pointer(&w[0]), unsafe.Pointer(&out[0])
	var bb unsafe.Pointer
	if b != nil {
		bb = unsafe.Pointer(&b[0])
	}
	{
		ih0 := oh*stride - padTop
		khLo, khHi := tapRange(ih0, KH, H)
		for ow := owLo; ow < owHi; ow++ {
			iw0 := ow*stride - padLeft
			kwLo, kwHi := tapRange(iw0, KW, W)
			o := (oh*OW + ow) * C
			c := 0
			for ; c+8 <= C; c += 8 {
				var s0, s1 archsimd.Float32x4
				if bb != nil {
					s0, s1 = ldAt(bb, c), ldAt(bb, c+4)
				}
				for kh := khLo; kh < khHi; kh++ {
					xr, wr := ((ih0+kh)*W+iw0)*C+c, kh*KW*C+c
					for kw := kwLo; kw < kwHi; kw++ {
						xo, wo := xr+kw*C, wr+kw*C
						s0 = s0.Add(ldAt(xb, xo).Mul(ldAt(wb, wo)))
						s1 = s1.Add(ldAt(xb, xo+4).Mul(ldAt(wb, wo+4)))
					}
				}
				stAt(ob, o+c, s0)
				stAt(ob, o+c+4, s1)
			}
			for ; c+4 <= C; c += 4 {
				var s0 archsimd.Float32x4
				if bb != nil {
					s0 = ldAt(bb, c)
				}
				for kh := khLo; kh < khHi; kh++ {
					xr, wr := ((ih0+kh)*W+iw0)*C+c, kh*KW*C+c
					for kw := kwLo; kw < kwHi; kw++ {
						s0 = s0.Add(ldAt(xb, xr+kw*C).Mul(ldAt(wb, wr+kw*C)))
					}
				}
				stAt(ob, o+c, s0)
			}
			if c < C {
				tail := out[o+c : o+C]
				for j := range tail {
					var s float32
					if b != nil {
						s = b[c+j]
					}
					for kh := khLo; kh < khHi; kh++ {
						for kw := kwLo; kw < kwHi; kw++ {
							s += x[((ih0+kh)*W+iw0+kw)*C+c+j] * w[(kh*KW+kw)*C+c+j]
						}
					}
					tail[j] = s
				}
			}
		}
	}
}

// elementwise is Elementwise's SIMD128 form: four lanes at a time, the last len mod 4 elements by
// the scalar loop. Each lane performs the scalar loop's one operation, so the bits are the same.
func elementwise(out, a, b []float32, op Binary) {
	nv, pa, pb := vecs(len(a), a, b)
	var po unsafe.Pointer
	if nv > 0 {
		_ = out[nv*4-1]
		po = unsafe.Pointer(&out[0])
	}
	switch op {
	case BinaryAdd:
		for ; nv > 0; nv-- {
			stAt(po, 0, ld(pa).Add(ld(pb)))
			po, pa, pb = unsafe.Add(po, 16), unsafe.Add(pa, 16), unsafe.Add(pb, 16)
		}
	case BinarySub:
		for ; nv > 0; nv-- {
			stAt(po, 0, ld(pa).Sub(ld(pb)))
			po, pa, pb = unsafe.Add(po, 16), unsafe.Add(pa, 16), unsafe.Add(pb, 16)
		}
	case BinaryMul:
		for ; nv > 0; nv-- {
			stAt(po, 0, ld(pa).Mul(ld(pb)))
			po, pa, pb = unsafe.Add(po, 16), unsafe.Add(pa, 16), unsafe.Add(pb, 16)
		}
	}
	if n := len(a) &^ 3; n < len(a) {
		elementwiseScalar(out[n:len(a)], a[n:], b[n:len(a)], op)
	}
}

// meanHW is MeanHW's SIMD128 form: four channels at a time, each sum kept in a register over the
// P pixels in order and divided once; the last C mod 4 channels by the scalar loop. Same bits.
// len(o) == C, len(x) == P·C, P ≥ 1.
func meanHW(o, x []float32, P, C int) {
	c4 := C &^ 3
	if c4 == 0 {
		meanHWScalar(o, x, P, C)
		return
	}
	inv := archsimd.BroadcastFloat32x4(float32(P))
	step := uintptr(C) * 4
	for c := 0; c < c4; c += 4 {
		p := unsafe.Pointer(&x[c])
		var s archsimd.Float32x4
		for k := P; ; {
			s = s.Add(ld(p))
			if k--; k == 0 {
				break
			}
			p = unsafe.Add(p, step)
		}
		s.Div(inv).Store(o[c : c+4])
	}
	if c4 < C {
		tail := o[c4:C]
		clear(tail)
		for p := 0; p < P; p++ {
			for j, v := range x[p*C+c4 : p*C+C] {
				tail[j] += v
			}
		}
		inv := float32(P)
		for j := range tail {
			tail[j] /= inv
		}
	}
}
