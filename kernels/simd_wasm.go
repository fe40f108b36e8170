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

func relu(out, x []float32) {
	n := len(x) &^ 3
	out = out[:len(x)]
	for i := 0; i < n; i += 4 {
		vrelu(archsimd.LoadFloat32x4(x[i:])).Store(out[i:])
	}
	reluScalar(out[n:], x[n:])
}

func relu6(out, x []float32) {
	n := len(x) &^ 3
	out = out[:len(x)]
	for i := 0; i < n; i += 4 {
		vrelu6(archsimd.LoadFloat32x4(x[i:])).Store(out[i:])
	}
	relu6Scalar(out[n:], x[n:])
}

func hardSwish(out, x []float32, k, shift float32) {
	n := len(x) &^ 3
	out = out[:len(x)]
	vk, vs := archsimd.BroadcastFloat32x4(k), archsimd.BroadcastFloat32x4(shift)
	for i := 0; i < n; i += 4 {
		vhardSwish(archsimd.LoadFloat32x4(x[i:]), vk, vs).Store(out[i:])
	}
	hardSwishScalar(out[n:], x[n:], k, shift)
}

func addBias(row, b []float32) {
	n := len(b) &^ 3
	row = row[:len(b)]
	for i := 0; i < n; i += 4 {
		archsimd.LoadFloat32x4(row[i:]).Add(archsimd.LoadFloat32x4(b[i:])).Store(row[i:])
	}
	addBiasScalar(row[n:], b[n:])
}

// The axpy kernels of LinearBackward, four lanes at a time with the scalar loops' expression
// (same bits); the last D mod 4 elements run the scalar loop. D = len(y) > 0.

func axpy4x2(y0, y1, x0, x1, x2, x3 []float32, a0, a1, a2, a3, b0, b1, b2, b3 float32) {
	D := len(y0)
	y1, x0, x1, x2, x3 = y1[:D], x0[:D], x1[:D], x2[:D], x3[:D]
	va0, va1, va2, va3 := archsimd.BroadcastFloat32x4(a0), archsimd.BroadcastFloat32x4(a1), archsimd.BroadcastFloat32x4(a2), archsimd.BroadcastFloat32x4(a3)
	vb0, vb1, vb2, vb3 := archsimd.BroadcastFloat32x4(b0), archsimd.BroadcastFloat32x4(b1), archsimd.BroadcastFloat32x4(b2), archsimd.BroadcastFloat32x4(b3)
	n := D &^ 3
	for i := 0; i < n; i += 4 {
		v0, v1 := archsimd.LoadFloat32x4(x0[i:]), archsimd.LoadFloat32x4(x1[i:])
		v2, v3 := archsimd.LoadFloat32x4(x2[i:]), archsimd.LoadFloat32x4(x3[i:])
		archsimd.LoadFloat32x4(y0[i:]).Add(va0.Mul(v0).Add(va1.Mul(v1)).Add(va2.Mul(v2).Add(va3.Mul(v3)))).Store(y0[i:])
		archsimd.LoadFloat32x4(y1[i:]).Add(vb0.Mul(v0).Add(vb1.Mul(v1)).Add(vb2.Mul(v2).Add(vb3.Mul(v3)))).Store(y1[i:])
	}
	if n < D {
		axpy4x2Scalar(y0[n:], y1[n:], x0[n:], x1[n:], x2[n:], x3[n:], a0, a1, a2, a3, b0, b1, b2, b3)
	}
}

func axpy4x1(y, x0, x1, x2, x3 []float32, a0, a1, a2, a3 float32) {
	D := len(y)
	x0, x1, x2, x3 = x0[:D], x1[:D], x2[:D], x3[:D]
	va0, va1, va2, va3 := archsimd.BroadcastFloat32x4(a0), archsimd.BroadcastFloat32x4(a1), archsimd.BroadcastFloat32x4(a2), archsimd.BroadcastFloat32x4(a3)
	n := D &^ 3
	for i := 0; i < n; i += 4 {
		v0, v1 := archsimd.LoadFloat32x4(x0[i:]), archsimd.LoadFloat32x4(x1[i:])
		v2, v3 := archsimd.LoadFloat32x4(x2[i:]), archsimd.LoadFloat32x4(x3[i:])
		archsimd.LoadFloat32x4(y[i:]).Add(va0.Mul(v0).Add(va1.Mul(v1)).Add(va2.Mul(v2).Add(va3.Mul(v3)))).Store(y[i:])
	}
	if n < D {
		axpy4x1Scalar(y[n:], x0[n:], x1[n:], x2[n:], x3[n:], a0, a1, a2, a3)
	}
}

func axpy1(y, x []float32, a float32) {
	D := len(y)
	x = x[:D]
	va := archsimd.BroadcastFloat32x4(a)
	n := D &^ 3
	for i := 0; i < n; i += 4 {
		archsimd.LoadFloat32x4(y[i:]).Add(va.Mul(archsimd.LoadFloat32x4(x[i:]))).Store(y[i:])
	}
	if n < D {
		axpy1Scalar(y[n:], x[n:], a)
	}
}

// depthwise is DepthwiseConv2D's SIMD128 form: per output pixel, channels eight (then four) at a
// time, each channel's sum kept in a register over all the taps inside x and stored once, after
// the activation. Each channel adds exactly as the scalar loop does (bias or zero, then the taps
// in (kh, kw) order), so the bits are the same; channels past the last multiple of four run the
// scalar order one by one. Sizes are checked.
func depthwise(out, x, w, b []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	if C < 4 {
		depthwiseScalar(out, x, w, b, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW, act)
		return
	}
	xb, wb, ob := unsafe.Pointer(&x[0]), unsafe.Pointer(&w[0]), unsafe.Pointer(&out[0])
	var bb unsafe.Pointer
	if b != nil {
		bb = unsafe.Pointer(&b[0])
	}
	for oh := 0; oh < OH; oh++ {
		ih0 := oh*stride - padTop
		khLo, khHi := max(0, -ih0), min(KH, H-ih0)
		for ow := 0; ow < OW; ow++ {
			iw0 := ow*stride - padLeft
			kwLo, kwHi := max(0, -iw0), min(KW, W-iw0)
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
				stAt(ob, o+c, vact(s0, act))
				stAt(ob, o+c+4, vact(s1, act))
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
				stAt(ob, o+c, vact(s0, act))
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
				actApply(tail, act)
			}
		}
	}
}
