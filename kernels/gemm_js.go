package kernels

import "unsafe"

// gemm2 computes two rows: o0[n] = a0·w[n,:], o1[n] = a1·w[n,:], for w (N,K), in 2×3 blocks on
// the pointer-walking micro-kernel dot2x3 (linear.go). Under wasm this ran 10% faster than slice
// loops in 2×3 or 2×4 blocks on whole backbone forward passes, and about 1.5× on head shapes.
func gemm2(o0, o1, a0, a1, w []float32, K, N int) {
	n := 0
	for ; n+3 <= N; n += 3 {
		s00, s01, s02, s10, s11, s12 := dot2x3(a0, a1, w[n*K:n*K+K], w[(n+1)*K:(n+1)*K+K], w[(n+2)*K:(n+2)*K+K])
		p0, p1 := o0[n:n+3], o1[n:n+3]
		p0[0], p0[1], p0[2] = s00, s01, s02
		p1[0], p1[1], p1[2] = s10, s11, s12
	}
	for ; n < N; n++ {
		o0[n], o1[n] = dot2x1(a0, a1, w[n*K:n*K+K])
	}
}

// The micro-kernels take slices of equal length D > 0 and check that once. Deriving the
// pointers from slice elements also lets the compiler drop the per-iteration nil checks it
// emits for pointers passed in as arguments (measured: a wasm loop with six such checks ran
// at a third of the speed).

// dot2x3 returns the six dot products of rows x0,x1 with rows w0,w1,w2.
// All loads of a k-pair come first, then the arithmetic: this keeps Go's wasm backend from
// spilling accumulators to the stack (measured under wasm: 4.8 GFLOP/s against 3.1 for a 2×4
// block that spilled one accumulator, whose loop-carried chain then ran through memory).
func dot2x3(rx0, rx1, rw0, rw1, rw2 []float32) (s00, s01, s02, s10, s11, s12 float32) {
	D := len(rx0)
	_, _, _, _ = rx1[D-1], rw0[D-1], rw1[D-1], rw2[D-1]
	x0, x1 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rx1[0])
	w0, w1, w2 := unsafe.Pointer(&rw0[0]), unsafe.Pointer(&rw1[0]), unsafe.Pointer(&rw2[0])
	if k := D / 2; k > 0 {
		for {
			a0, a1 := at(x0, 0), at(x1, 0)
			b0, b1, b2 := at(w0, 0), at(w1, 0), at(w2, 0)
			c0, c1 := at(x0, 1), at(x1, 1)
			d0, d1, d2 := at(w0, 1), at(w1, 1), at(w2, 1)
			s00 += a0*b0 + c0*d0
			s01 += a0*b1 + c0*d1
			s02 += a0*b2 + c0*d2
			s10 += a1*b0 + c1*d0
			s11 += a1*b1 + c1*d1
			s12 += a1*b2 + c1*d2
			if k--; k == 0 {
				break
			}
			x0, x1 = unsafe.Add(x0, 8), unsafe.Add(x1, 8)
			w0, w1, w2 = unsafe.Add(w0, 8), unsafe.Add(w1, 8), unsafe.Add(w2, 8)
		}
	}
	if D%2 == 1 {
		t := tail(D)
		a0, a1 := at(x0, t), at(x1, t)
		b0, b1, b2 := at(w0, t), at(w1, t), at(w2, t)
		s00 += a0 * b0
		s01 += a0 * b1
		s02 += a0 * b2
		s10 += a1 * b0
		s11 += a1 * b1
		s12 += a1 * b2
	}
	return
}

// tail is the offset of element D-1 from a pointer left at the last pair by a k-pair loop.
func tail(D int) uintptr {
	if D >= 3 {
		return 2
	}
	return 0
}

func dot2x1(rx0, rx1, rw0 []float32) (s0, s1 float32) {
	D := len(rx0)
	_, _ = rx1[D-1], rw0[D-1]
	x0, x1, w0 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rx1[0]), unsafe.Pointer(&rw0[0])
	if k := D / 2; k > 0 {
		for {
			a0, a1, b0 := at(x0, 0), at(x1, 0), at(w0, 0)
			c0, c1, d0 := at(x0, 1), at(x1, 1), at(w0, 1)
			s0 += a0*b0 + c0*d0
			s1 += a1*b0 + c1*d0
			if k--; k == 0 {
				break
			}
			x0, x1, w0 = unsafe.Add(x0, 8), unsafe.Add(x1, 8), unsafe.Add(w0, 8)
		}
	}
	if D%2 == 1 {
		t := tail(D)
		b0 := at(w0, t)
		s0 += at(x0, t) * b0
		s1 += at(x1, t) * b0
	}
	return
}

func dot1x1(rx0, rw0 []float32) (s float32) {
	D := len(rx0)
	_ = rw0[D-1]
	x0, w0 := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&rw0[0])
	if k := D / 2; k > 0 {
		for {
			s += at(x0, 0)*at(w0, 0) + at(x0, 1)*at(w0, 1)
			if k--; k == 0 {
				break
			}
			x0, w0 = unsafe.Add(x0, 8), unsafe.Add(w0, 8)
		}
	}
	if D%2 == 1 {
		t := tail(D)
		s += at(x0, t) * at(w0, t)
	}
	return
}
