package kernels

// gemmNTScalar is the scalar form of gemmNT, the matrix product both the dense layer and the
// convolutions run on:
//
//	a (M,K), w (N,K), out (M,N)
//	out[m*N+n] = Σ_k a[m*K+k]·w[n*K+k]
//
// Both operands are read along k, contiguously. Rows of a go two at a time through gemm2, which
// has a native and a js/wasm twin because the fastest loop differs between the two compilers
// (gemm_notjs.go, gemm_js.go). It is gemmNT wherever the SIMD128 build is off (gemm_scalar.go),
// and the SIMD gemm's reference in its tests. Callers have checked the sizes; K > 0.
func gemmNTScalar(out, a, w []float32, M, K, N int) {
	m := 0
	for ; m+2 <= M; m += 2 {
		gemm2(out[m*N:m*N+N], out[(m+1)*N:(m+1)*N+N], a[m*K:m*K+K], a[(m+1)*K:(m+1)*K+K], w[:N*K], K, N)
	}
	if m < M {
		gemm1(out[m*N:m*N+N], a[m*K:m*K+K], w[:N*K], K, N)
	}
}

// gemm1 computes one row: o[n] = a·w[n,:], four outputs at a time. It adds in gemm2's order
// (k in pairs, an odd last k on its own), so a row gives the same bits alone or in a batch.
func gemm1(o, a, w []float32, K, N int) {
	n := 0
	for ; n+4 <= N; n += 4 {
		w0 := w[n*K:][:len(a)]
		w1 := w[(n+1)*K:][:len(a)]
		w2 := w[(n+2)*K:][:len(a)]
		w3 := w[(n+3)*K:][:len(a)]
		var s0, s1, s2, s3 float32
		k := 0
		for ; k+1 < len(a); k += 2 {
			x, u := a[k], a[k+1]
			s0 += x*w0[k] + u*w0[k+1]
			s1 += x*w1[k] + u*w1[k+1]
			s2 += x*w2[k] + u*w2[k+1]
			s3 += x*w3[k] + u*w3[k+1]
		}
		if k < len(a) {
			x := a[k]
			s0 += x * w0[k]
			s1 += x * w1[k]
			s2 += x * w2[k]
			s3 += x * w3[k]
		}
		p := o[n : n+4]
		p[0], p[1], p[2], p[3] = s0, s1, s2, s3
	}
	for ; n < N; n++ {
		wn := w[n*K:][:len(a)]
		var s float32
		k := 0
		for ; k+1 < len(a); k += 2 {
			s += a[k]*wn[k] + a[k+1]*wn[k+1]
		}
		if k < len(a) {
			s += a[k] * wn[k]
		}
		o[n] = s
	}
}
