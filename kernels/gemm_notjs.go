//go:build !js

package kernels

// gemm2 computes two rows: o0[n] = a0·w[n,:], o1[n] = a1·w[n,:], for w (N,K), in 2×3 blocks
// (6 accumulators) over plain slices: natively this beat the pointer-walking loop of the wasm twin
// by about 1.5× (the compiler keeps a nil check per pointer per iteration there) and a 2×4 block
// by 20-25% on the backbones' layer shapes. It adds the products in exactly the order of the wasm
// twin (k in pairs, s += a·b + c·d, an odd last k on its own), so both give the same bits.
func gemm2(o0, o1, a0, a1, w []float32, K, N int) {
	a1 = a1[:len(a0)]
	n := 0
	for ; n+3 <= N; n += 3 {
		w0 := w[n*K:][:len(a0)]
		w1 := w[(n+1)*K:][:len(a0)]
		w2 := w[(n+2)*K:][:len(a0)]
		var s00, s01, s02, s10, s11, s12 float32
		k := 0
		for ; k+1 < len(a0); k += 2 {
			x0, x1, y0, y1, y2 := a0[k], a1[k], w0[k], w1[k], w2[k]
			u0, u1, v0, v1, v2 := a0[k+1], a1[k+1], w0[k+1], w1[k+1], w2[k+1]
			s00 += x0*y0 + u0*v0
			s01 += x0*y1 + u0*v1
			s02 += x0*y2 + u0*v2
			s10 += x1*y0 + u1*v0
			s11 += x1*y1 + u1*v1
			s12 += x1*y2 + u1*v2
		}
		if k < len(a0) {
			x0, x1, y0, y1, y2 := a0[k], a1[k], w0[k], w1[k], w2[k]
			s00 += x0 * y0
			s01 += x0 * y1
			s02 += x0 * y2
			s10 += x1 * y0
			s11 += x1 * y1
			s12 += x1 * y2
		}
		p0, p1 := o0[n:n+3], o1[n:n+3]
		p0[0], p0[1], p0[2] = s00, s01, s02
		p1[0], p1[1], p1[2] = s10, s11, s12
	}
	for ; n < N; n++ {
		wn := w[n*K:][:len(a0)]
		var s0, s1 float32
		k := 0
		for ; k+1 < len(a0); k += 2 {
			y, v := wn[k], wn[k+1]
			s0 += a0[k]*y + a0[k+1]*v
			s1 += a1[k]*y + a1[k+1]*v
		}
		if k < len(a0) {
			s0 += a0[k] * wn[k]
			s1 += a1[k] * wn[k]
		}
		o0[n], o1[n] = s0, s1
	}
}
