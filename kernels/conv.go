package kernels

// Conv2D computes a 2-D convolution with bias and a fused activation, for one NHWC image:
//
//	out[oh,ow,o] = act(b[o] + Σ_{kh,kw,c} x[oh·stride+kh-padTop, ow·stride+kw-padLeft, c] · w[o,kh,kw,c])
//
// x is (H,W,C), w is (OC,KH,KW,C) — output-major, each output's weights one contiguous row of
// K = KH·KW·C, which is TF's HWIO filter transposed once at load time — b is (OC) or nil, out is
// (OH,OW,OC). Taps that fall outside x read zeros (SAME padding). col is scratch for the im2col
// matrix, (OH·OW, K); a 1×1 stride-1 convolution needs none (x already is that matrix) and col may be
// nil.
func Conv2D(out, x, w, b, col []float32, H, W, C, OC, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	if H <= 0 || W <= 0 || C <= 0 || OC <= 0 || KH <= 0 || KW <= 0 || stride <= 0 || OH <= 0 || OW <= 0 {
		panic("kernels: Conv2D size <= 0")
	}
	K := KH * KW * C
	M := OH * OW
	if len(x) < H*W*C || len(w) < OC*K || len(out) < M*OC || (b != nil && len(b) < OC) {
		panic("kernels: Conv2D slice too short")
	}
	if KH == 1 && KW == 1 && stride == 1 && padTop == 0 && padLeft == 0 && OH == H && OW == W {
		ConvGemm(out, x, w, b, M, K, OC, act)
		return
	}
	if len(col) < M*K {
		panic("kernels: Conv2D col too short")
	}
	Im2col(col, x, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW)
	ConvGemm(out, col, w, b, M, K, OC, act)
}

// Im2col unrolls the receptive field of each output pixel into one row of col, (OH·OW, KH·KW·C),
// ordered (kh, kw, c) to match Conv2D's filter rows. Taps outside x are zero.
func Im2col(col, x []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int) {
	K := KH * KW * C
	if len(col) < OH*OW*K || len(x) < H*W*C {
		panic("kernels: Im2col slice too short")
	}
	for oh := 0; oh < OH; oh++ {
		for ow := 0; ow < OW; ow++ {
			row := col[(oh*OW+ow)*K:][:K]
			for kh := 0; kh < KH; kh++ {
				ih := oh*stride + kh - padTop
				for kw := 0; kw < KW; kw++ {
					iw := ow*stride + kw - padLeft
					dst := row[(kh*KW+kw)*C:][:C]
					if ih < 0 || ih >= H || iw < 0 || iw >= W {
						clear(dst)
						continue
					}
					copy(dst, x[(ih*W+iw)*C:][:C])
				}
			}
		}
	}
}

// ConvGemm computes out = act(a·wᵀ + b): a is (M,K), w is (N,K), b is (N) or nil, out is (M,N).
//
//	out[m,n] = act(b[n] + Σ_k a[m,k]·w[n,k])
//
// Both operands are read along k, contiguously. Rows are taken two at a time and outputs computed
// in small register blocks with the k loop innermost (convGemm2, which has a native and a js/wasm
// twin: the best block shape differs between the two compilers).
func ConvGemm(out, a, w, b []float32, M, K, N int, act FusedAct) {
	if M < 0 || K <= 0 || N <= 0 {
		panic("kernels: ConvGemm size <= 0")
	}
	if len(a) < M*K || len(w) < N*K || len(out) < M*N || (b != nil && len(b) < N) {
		panic("kernels: ConvGemm slice too short")
	}
	m := 0
	for ; m+2 <= M; m += 2 {
		convGemm2(out[m*N:][:N], out[(m+1)*N:][:N], a[m*K:][:K], a[(m+1)*K:][:K], w[:N*K], K, N)
	}
	for ; m < M; m++ {
		am := a[m*K:][:K]
		om := out[m*N:][:N]
		n := 0
		for ; n+4 <= N; n += 4 {
			w0 := w[n*K:][:K]
			w1 := w[(n+1)*K:][:K]
			w2 := w[(n+2)*K:][:K]
			w3 := w[(n+3)*K:][:K]
			var s0, s1, s2, s3 float32
			for k, x := range am {
				s0 += x * w0[k]
				s1 += x * w1[k]
				s2 += x * w2[k]
				s3 += x * w3[k]
			}
			p := om[n : n+4]
			p[0], p[1], p[2], p[3] = s0, s1, s2, s3
		}
		for ; n < N; n++ {
			wn := w[n*K:][:K]
			var s float32
			for k, x := range am {
				s += x * wn[k]
			}
			om[n] = s
		}
	}
	if b != nil || act != FusedNone {
		for r := 0; r < M; r++ {
			row := out[r*N:][:N]
			if b != nil {
				for n, v := range b[:N] {
					row[n] += v
				}
			}
			actApply(row, act)
		}
	}
}

// conv2DNaive is Conv2D's reference: the formula in its doc comment, one output at a time.
func conv2DNaive(out, x, w, b []float32, H, W, C, OC, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	for oh := 0; oh < OH; oh++ {
		for ow := 0; ow < OW; ow++ {
			for o := 0; o < OC; o++ {
				var s float32
				if b != nil {
					s = b[o]
				}
				for kh := 0; kh < KH; kh++ {
					ih := oh*stride + kh - padTop
					if ih < 0 || ih >= H {
						continue
					}
					for kw := 0; kw < KW; kw++ {
						iw := ow*stride + kw - padLeft
						if iw < 0 || iw >= W {
							continue
						}
						for c := 0; c < C; c++ {
							s += x[(ih*W+iw)*C+c] * w[((o*KH+kh)*KW+kw)*C+c]
						}
					}
				}
				out[(oh*OW+ow)*OC+o] = s
			}
		}
	}
	actApply(out[:OH*OW*OC], act)
}

// SamePadding returns TF's SAME output size and the padding before the first element for one
// spatial dimension: out = ceil(in/stride), and the total padding is split with the odd one after.
func SamePadding(in, k, stride int) (out, before int) {
	out = (in + stride - 1) / stride
	total := (out-1)*stride + k - in
	if total < 0 {
		total = 0
	}
	return out, total / 2
}

// convGemm2Tail finishes two rows of convGemm2 from output column n on, one column at a time.
func convGemm2Tail(o0, o1, a0, a1, w []float32, K, N, n int) {
	for ; n < N; n++ {
		wn := w[n*K:][:len(a0)]
		var s0, s1 float32
		for k, y := range wn {
			s0 += a0[k] * y
			s1 += a1[k] * y
		}
		o0[n], o1[n] = s0, s1
	}
}
