//go:build goexperiment.simd && wasm

package kernels

import (
	"simd/archsimd"
	"unsafe"
)

// gemmNT is the matrix product both the dense layer and the convolutions run on:
//
//	a (M,K), w (N,K), out (M,N)
//	out[m*N+n] = Σ_k a[m*K+k]·w[n*K+k]
//
// This is the SIMD128 form: rows of a two at a time, outputs four at a time, k four lanes at a
// time into one f32x4 accumulator per output (8 accumulators and 6 loaded vectors: 14 of the 16
// vector registers Go's wasm backend allocates, so nothing spills). Each output then adds its
// lanes as (l0+l1)+(l2+l3) and the last K mod 4 products one by one. Every block shape (2×4, 2×1,
// 1×4, 1×1) adds in that one order, so a row gives the same bits alone or in a batch, but the
// order is not the scalar kernel's: results differ from it (and from native) in the last bits.
// K < 4 has no full vector and runs the scalar kernel. Callers have checked the sizes; K > 0.
func gemmNT(out, a, w []float32, M, K, N int) {
	if K < 4 {
		gemmNTScalar(out, a, w, M, K, N)
		return
	}
	w = w[:N*K]
	m := 0
	for ; m+2 <= M; m += 2 {
		o0, o1 := out[m*N:m*N+N], out[(m+1)*N:(m+1)*N+N]
		a0, a1 := a[m*K:m*K+K], a[(m+1)*K:(m+1)*K+K]
		n := 0
		for ; n+4 <= N; n += 4 {
			vdot2x4(o0[n:n+4], o1[n:n+4], a0, a1, w[n*K:n*K+K], w[(n+1)*K:(n+1)*K+K], w[(n+2)*K:(n+2)*K+K], w[(n+3)*K:(n+3)*K+K])
		}
		for ; n < N; n++ {
			o0[n], o1[n] = vdot2x1(a0, a1, w[n*K:n*K+K])
		}
	}
	if m < M {
		o, a0 := out[m*N:m*N+N], a[m*K:m*K+K]
		n := 0
		for ; n+4 <= N; n += 4 {
			vdot1x4(o[n:n+4], a0, w[n*K:n*K+K], w[(n+1)*K:(n+1)*K+K], w[(n+2)*K:(n+2)*K+K], w[(n+3)*K:(n+3)*K+K])
		}
		for ; n < N; n++ {
			o[n] = vdot1x1(a0, w[n*K:n*K+K])
		}
	}
}

// vsum finishes one dot product: the accumulator's lanes as (l0+l1)+(l2+l3), then the products of
// the k past the last full vector, in order.
func vsum(s archsimd.Float32x4, a, w []float32) float32 {
	r := (s.GetElem(0) + s.GetElem(1)) + (s.GetElem(2) + s.GetElem(3))
	w = w[:len(a)]
	for k := len(a) &^ 3; k < len(a); k++ {
		r += a[k] * w[k]
	}
	return r
}

// The micro-kernels below take rows of equal length K ≥ 4 and walk them with pointers, bottom-tested
// so that no pointer moves past its row (as the scalar ones in linear.go).

// vdot2x4 sets o0[j] = x0·wj and o1[j] = x1·wj for the four rows w0..w3.
func vdot2x4(o0, o1, rx0, rx1, rw0, rw1, rw2, rw3 []float32) {
	K := len(rx0)
	_, _, _, _, _ = rx1[K-1], rw0[K-1], rw1[K-1], rw2[K-1], rw3[K-1]
	o0, o1 = o0[:4], o1[:4]
	x0, x1 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rx1[0])
	w0, w1, w2, w3 := unsafe.Pointer(&rw0[0]), unsafe.Pointer(&rw1[0]), unsafe.Pointer(&rw2[0]), unsafe.Pointer(&rw3[0])
	var s00, s01, s02, s03, s10, s11, s12, s13 archsimd.Float32x4
	for k := K / 4; ; {
		a, b := ld(x0), ld(x1)
		c0, c1, c2, c3 := ld(w0), ld(w1), ld(w2), ld(w3)
		s00, s01, s02, s03 = s00.Add(a.Mul(c0)), s01.Add(a.Mul(c1)), s02.Add(a.Mul(c2)), s03.Add(a.Mul(c3))
		s10, s11, s12, s13 = s10.Add(b.Mul(c0)), s11.Add(b.Mul(c1)), s12.Add(b.Mul(c2)), s13.Add(b.Mul(c3))
		if k--; k == 0 {
			break
		}
		x0, x1 = unsafe.Add(x0, 16), unsafe.Add(x1, 16)
		w0, w1, w2, w3 = unsafe.Add(w0, 16), unsafe.Add(w1, 16), unsafe.Add(w2, 16), unsafe.Add(w3, 16)
	}
	o0[0], o0[1], o0[2], o0[3] = vsum(s00, rx0, rw0), vsum(s01, rx0, rw1), vsum(s02, rx0, rw2), vsum(s03, rx0, rw3)
	o1[0], o1[1], o1[2], o1[3] = vsum(s10, rx1, rw0), vsum(s11, rx1, rw1), vsum(s12, rx1, rw2), vsum(s13, rx1, rw3)
}

// vdot1x4 sets o[j] = x0·wj for the four rows w0..w3.
func vdot1x4(o, rx0, rw0, rw1, rw2, rw3 []float32) {
	K := len(rx0)
	_, _, _, _ = rw0[K-1], rw1[K-1], rw2[K-1], rw3[K-1]
	o = o[:4]
	x0 := unsafe.Pointer(&rx0[0])
	w0, w1, w2, w3 := unsafe.Pointer(&rw0[0]), unsafe.Pointer(&rw1[0]), unsafe.Pointer(&rw2[0]), unsafe.Pointer(&rw3[0])
	var s0, s1, s2, s3 archsimd.Float32x4
	for k := K / 4; ; {
		a := ld(x0)
		s0, s1, s2, s3 = s0.Add(a.Mul(ld(w0))), s1.Add(a.Mul(ld(w1))), s2.Add(a.Mul(ld(w2))), s3.Add(a.Mul(ld(w3)))
		if k--; k == 0 {
			break
		}
		x0 = unsafe.Add(x0, 16)
		w0, w1, w2, w3 = unsafe.Add(w0, 16), unsafe.Add(w1, 16), unsafe.Add(w2, 16), unsafe.Add(w3, 16)
	}
	o[0], o[1], o[2], o[3] = vsum(s0, rx0, rw0), vsum(s1, rx0, rw1), vsum(s2, rx0, rw2), vsum(s3, rx0, rw3)
}

// vdot2x1 returns x0·w0 and x1·w0.
func vdot2x1(rx0, rx1, rw0 []float32) (float32, float32) {
	K := len(rx0)
	_, _ = rx1[K-1], rw0[K-1]
	x0, x1, w0 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rx1[0]), unsafe.Pointer(&rw0[0])
	var s0, s1 archsimd.Float32x4
	for k := K / 4; ; {
		c := ld(w0)
		s0, s1 = s0.Add(ld(x0).Mul(c)), s1.Add(ld(x1).Mul(c))
		if k--; k == 0 {
			break
		}
		x0, x1, w0 = unsafe.Add(x0, 16), unsafe.Add(x1, 16), unsafe.Add(w0, 16)
	}
	return vsum(s0, rx0, rw0), vsum(s1, rx1, rw0)
}

// vdot1x1 returns x0·w0.
func vdot1x1(rx0, rw0 []float32) float32 {
	K := len(rx0)
	_ = rw0[K-1]
	x0, w0 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rw0[0])
	var s archsimd.Float32x4
	for k := K / 4; ; {
		s = s.Add(ld(x0).Mul(ld(w0)))
		if k--; k == 0 {
			break
		}
		x0, w0 = unsafe.Add(x0, 16), unsafe.Add(w0, 16)
	}
	return vsum(s, rx0, rw0)
}
