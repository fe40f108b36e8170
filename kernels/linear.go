package kernels

import "unsafe"

// LinearForward computes out = x·wᵀ + b.
//
//	x (N,D), w (C,D), b (C) or nil, out (N,C)
//	out[n*C+c] = b[c] + Σ_k x[n*D+k]·w[c*D+k]
//
// It runs on gemmNT: in the scalar build (gemm.go) register-blocked, 2 rows × 3 outputs per block;
// under wasm, where the compiler has 16 float32 registers, with k unrolled by 2 and rows walked
// with pointers (dot2x3). The SIMD128 build runs gemm_simd.go's f32x4 kernels.
func LinearForward(out, x, w, b []float32, N, D, C int) {
	checkLinear(x, w, N, D, C)
	if len(out) < N*C {
		panic("kernels: LinearForward: out too short")
	}
	if b != nil && len(b) < C {
		panic("kernels: LinearForward: b too short")
	}
	if D == 0 {
		for n := 0; n < N; n++ {
			for c := 0; c < C; c++ {
				out[n*C+c] = bias(b, c)
			}
		}
		return
	}
	gemmNT(out, x, w, N, D, C)
	if b != nil {
		for n := 0; n < N; n++ {
			o := out[n*C : n*C+C]
			for c, v := range b[:C] {
				o[c] += v
			}
		}
	}
}

// LinearBackward accumulates the gradients of LinearForward.
//
//	dout (N,C), x (N,D), w (C,D)
//	dx (N,D) += dout·w     dx[n*D+k] += Σ_c dout[n*C+c]·w[c*D+k]   (skipped when dx is nil)
//	dw (C,D) += doutᵀ·x    dw[c*D+k] += Σ_n dout[n*C+c]·x[n*D+k]
//	db (C)   += Σ_n dout   (skipped when db is nil)
func LinearBackward(dx, dw, db, dout, x, w []float32, N, D, C int) {
	checkLinear(x, w, N, D, C)
	if len(dout) < N*C {
		panic("kernels: LinearBackward: dout too short")
	}
	if len(dw) < C*D {
		panic("kernels: LinearBackward: dw too short")
	}
	if dx != nil && len(dx) < N*D {
		panic("kernels: LinearBackward: dx too short")
	}
	if db != nil && len(db) < C {
		panic("kernels: LinearBackward: db too short")
	}
	if db != nil {
		db := db[:C]
		for n := 0; n < N; n++ {
			g := dout[n*C : n*C+C]
			for c := range db {
				db[c] += g[c]
			}
		}
	}
	if D == 0 || N == 0 {
		return
	}
	linearBackwardW(dw, dout, x, N, D, C)
	if dx != nil {
		linearBackwardX(dx, dout, w, N, D, C)
	}
}

// linearBackwardW: dw (C,D) += doutᵀ·x, blocked 4 rows × 2 outputs so each pass over a row of dw
// folds in four samples.
func linearBackwardW(dw, dout, x []float32, N, D, C int) {
	n := 0
	for ; n+4 <= N; n += 4 {
		g0, g1, g2, g3 := dout[n*C:n*C+C], dout[(n+1)*C:(n+1)*C+C], dout[(n+2)*C:(n+2)*C+C], dout[(n+3)*C:(n+3)*C+C]
		x0, x1, x2, x3 := x[n*D:n*D+D], x[(n+1)*D:(n+1)*D+D], x[(n+2)*D:(n+2)*D+D], x[(n+3)*D:(n+3)*D+D]
		c := 0
		for ; c+2 <= C; c += 2 {
			axpy4x2(dw[c*D:c*D+D], dw[(c+1)*D:(c+1)*D+D], x0, x1, x2, x3,
				g0[c], g1[c], g2[c], g3[c], g0[c+1], g1[c+1], g2[c+1], g3[c+1])
		}
		for ; c < C; c++ {
			axpy4x1(dw[c*D:c*D+D], x0, x1, x2, x3, g0[c], g1[c], g2[c], g3[c])
		}
	}
	for ; n < N; n++ {
		g := dout[n*C : n*C+C]
		xn := x[n*D : n*D+D]
		for c := 0; c < C; c++ {
			axpy1(dw[c*D:c*D+D], xn, g[c])
		}
	}
}

// linearBackwardX: dx (N,D) += dout·w, blocked 1 row × 4 outputs.
func linearBackwardX(dx, dout, w []float32, N, D, C int) {
	for n := 0; n < N; n++ {
		g := dout[n*C : n*C+C]
		dxn := dx[n*D : n*D+D]
		c := 0
		for ; c+4 <= C; c += 4 {
			axpy4x1(dxn, w[c*D:c*D+D], w[(c+1)*D:(c+1)*D+D], w[(c+2)*D:(c+2)*D+D], w[(c+3)*D:(c+3)*D+D],
				g[c], g[c+1], g[c+2], g[c+3])
		}
		for ; c < C; c++ {
			axpy1(dxn, w[c*D:c*D+D], g[c])
		}
	}
}

func checkLinear(x, w []float32, N, D, C int) {
	if N < 0 || D < 0 || C < 0 {
		panic("kernels: negative size")
	}
	if len(x) < N*D {
		panic("kernels: x too short")
	}
	if len(w) < C*D {
		panic("kernels: w too short")
	}
}

func bias(b []float32, c int) float32 {
	if b == nil {
		return 0
	}
	return b[c]
}

// at reads the float32 i elements past p. Callers have checked the bounds.
func at(p unsafe.Pointer, i uintptr) float32 { return *(*float32)(unsafe.Add(p, i*4)) }

func set(p unsafe.Pointer, i uintptr, v float32) { *(*float32)(unsafe.Add(p, i*4)) = v }

// The inner loops below walk rows with pointers because Go's wasm backend recomputes a 64-bit index
// for every slice access. They are bottom-tested so that a pointer is advanced only while another
// element follows: a pointer past the end of its allocation is invalid in Go (the collector may
// find it at a preemption point).

// axpy4x2Scalar does y0 += a0·x0+a1·x1+a2·x2+a3·x3 and y1 += b0·x0+b1·x1+b2·x2+b3·x3 over D > 0 elements.
func axpy4x2Scalar(ry0, ry1, rx0, rx1, rx2, rx3 []float32, a0, a1, a2, a3, b0, b1, b2, b3 float32) {
	D := len(ry0)
	_, _, _, _, _ = ry1[D-1], rx0[D-1], rx1[D-1], rx2[D-1], rx3[D-1]
	y0, y1 := unsafe.Pointer(&ry0[0]), unsafe.Pointer(&ry1[0])
	x0, x1, x2, x3 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rx1[0]), unsafe.Pointer(&rx2[0]), unsafe.Pointer(&rx3[0])
	for k := D; ; {
		v0, v1, v2, v3 := at(x0, 0), at(x1, 0), at(x2, 0), at(x3, 0)
		set(y0, 0, at(y0, 0)+((a0*v0+a1*v1)+(a2*v2+a3*v3)))
		set(y1, 0, at(y1, 0)+((b0*v0+b1*v1)+(b2*v2+b3*v3)))
		if k--; k == 0 {
			break
		}
		x0, x1, x2, x3 = unsafe.Add(x0, 4), unsafe.Add(x1, 4), unsafe.Add(x2, 4), unsafe.Add(x3, 4)
		y0, y1 = unsafe.Add(y0, 4), unsafe.Add(y1, 4)
	}
}

// axpy4x1Scalar does y += a0·x0+a1·x1+a2·x2+a3·x3 over D > 0 elements.
func axpy4x1Scalar(ry, rx0, rx1, rx2, rx3 []float32, a0, a1, a2, a3 float32) {
	D := len(ry)
	_, _, _, _ = rx0[D-1], rx1[D-1], rx2[D-1], rx3[D-1]
	y := unsafe.Pointer(&ry[0])
	x0, x1, x2, x3 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rx1[0]), unsafe.Pointer(&rx2[0]), unsafe.Pointer(&rx3[0])
	for k := D; ; {
		set(y, 0, at(y, 0)+((a0*at(x0, 0)+a1*at(x1, 0))+(a2*at(x2, 0)+a3*at(x3, 0))))
		if k--; k == 0 {
			break
		}
		x0, x1, x2, x3 = unsafe.Add(x0, 4), unsafe.Add(x1, 4), unsafe.Add(x2, 4), unsafe.Add(x3, 4)
		y = unsafe.Add(y, 4)
	}
}

// axpy1Scalar does y += a·x over D > 0 elements. The axpy kernels are axpy4x2, axpy4x1 and axpy1:
// these loops, or their SIMD128 forms (simd_wasm.go), which add in the same order (same bits).
func axpy1Scalar(ry, rx []float32, a float32) {
	D := len(ry)
	_ = rx[D-1]
	y, x := unsafe.Pointer(&ry[0]), unsafe.Pointer(&rx[0])
	for k := D; ; {
		set(y, 0, at(y, 0)+a*at(x, 0))
		if k--; k == 0 {
			break
		}
		x, y = unsafe.Add(x, 4), unsafe.Add(y, 4)
	}
}

// linearForwardNaive is the reference loop of LinearForward.
func linearForwardNaive(out, x, w, b []float32, N, D, C int) {
	for n := 0; n < N; n++ {
		for c := 0; c < C; c++ {
			var s float32
			for k := 0; k < D; k++ {
				s += x[n*D+k] * w[c*D+k]
			}
			out[n*C+c] = s + bias(b, c)
		}
	}
}

// linearBackwardNaive is the reference loop of LinearBackward.
func linearBackwardNaive(dx, dw, db, dout, x, w []float32, N, D, C int) {
	for n := 0; n < N; n++ {
		for c := 0; c < C; c++ {
			g := dout[n*C+c]
			if db != nil {
				db[c] += g
			}
			for k := 0; k < D; k++ {
				dw[c*D+k] += g * x[n*D+k]
				if dx != nil {
					dx[n*D+k] += g * w[c*D+k]
				}
			}
		}
	}
}
