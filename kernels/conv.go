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
	conv2D(out, x, w, nil, b, col, H, W, C, OC, KH, KW, stride, padTop, padLeft, OH, OW, act)
}

// Conv2DPacked is Conv2D with weights packed once (PackWeights, from (OC, KH·KW·C)): the same
// result, bit for bit, without packing them on every call. A backbone's frozen convolutions run
// this way; weights that change (fine-tuning) go through Conv2D.
func Conv2DPacked(out, x []float32, pw *PackedWeights, b, col []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	if pw.K != KH*KW*C {
		panic("kernels: Conv2DPacked weights packed for another K")
	}
	conv2D(out, x, pw.w, pw.panels, b, col, H, W, C, pw.N, KH, KW, stride, padTop, padLeft, OH, OW, act)
}

func conv2D(out, x, w, panels, b, col []float32, H, W, C, OC, KH, KW, stride, padTop, padLeft, OH, OW int, act FusedAct) {
	if H <= 0 || W <= 0 || C <= 0 || OC <= 0 || KH <= 0 || KW <= 0 || stride <= 0 || OH <= 0 || OW <= 0 {
		panic("kernels: Conv2D size <= 0")
	}
	K := KH * KW * C
	M := OH * OW
	if len(x) < H*W*C || len(w) < OC*K || len(out) < M*OC || (b != nil && len(b) < OC) {
		panic("kernels: Conv2D slice too short")
	}
	if KH == 1 && KW == 1 && stride == 1 && padTop == 0 && padLeft == 0 && OH == H && OW == W {
		convGemm(out, x, w, panels, b, M, K, OC, act)
		return
	}
	if len(col) < M*K {
		panic("kernels: Conv2D col too short")
	}
	if conv2DDirect(out, x, w, panels, b, col, H, W, C, OC, KH, KW, stride, padTop, padLeft, OH, OW, act) {
		return
	}
	Im2col(col, x, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW)
	convGemm(out, col, w, panels, b, M, K, OC, act)
}

// PackedWeights are a convolution's or a dense layer's weights w (N,K) together with the layout
// the SIMD128 gemm reads (panels of eight outputs, each (K,8)), made once by PackWeights. In the
// scalar build there is no second layout. They share w: change it and pack again.
type PackedWeights struct {
	K, N   int
	w      []float32
	panels []float32
}

// PackWeights packs w (N,K) for ConvGemmPacked and Conv2DPacked.
func PackWeights(w []float32, N, K int) *PackedWeights {
	if N <= 0 || K <= 0 || len(w) < N*K {
		panic("kernels: PackWeights size <= 0 or w too short")
	}
	return &PackedWeights{K: K, N: N, w: w[:N*K], panels: packConv(w, K, N)}
}

// Bytes returns the memory the packed layout adds to w.
func (p *PackedWeights) Bytes() int64 { return int64(len(p.panels)) * 4 }

// Im2col unrolls the receptive field of each output pixel into one row of col, (OH·OW, KH·KW·C),
// ordered (kh, kw, c) to match Conv2D's filter rows. Taps outside x are zero.
//
// The taps of a window that lie inside x are found once per output pixel (tapRange); a run of
// C < 8 values (the RGB stem: C = 3, runs of KW·C = 9) goes through copyShort, inlined, since a
// call to copy costs more than the copy there (measured under wasm: the stem's im2col took about
// as long as its gemm element by element; four lanes at a time the stem's im2col takes 0.62 ms
// instead of 0.79 in Node, BenchmarkConv2DStem).
func Im2col(col, x []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int) {
	K := KH * KW * C
	if len(col) < OH*OW*K || len(x) < H*W*C {
		panic("kernels: Im2col slice too short")
	}
	for oh := 0; oh < OH; oh++ {
		im2colPixels(col[oh*OW*K:], x, H, W, C, KH, KW, stride, padTop, padLeft, oh, 0, OW)
	}
}

// im2colPixels writes the im2col rows of output pixels ow0..ow1 of row oh to col, one after
// another from col[0]. Sizes are checked.
func im2colPixels(col, x []float32, H, W, C, KH, KW, stride, padTop, padLeft, oh, ow0, ow1 int) {
	K := KH * KW * C
	ih0 := oh*stride - padTop
	khLo, khHi := tapRange(ih0, KH, H)
	for ow := ow0; ow < ow1; ow++ {
		iw0 := ow*stride - padLeft
		kwLo, kwHi := tapRange(iw0, KW, W)
		row := col[(ow-ow0)*K:][:K]
		if khLo > 0 || khHi < KH || kwLo > 0 || kwHi < KW {
			clear(row)
		}
		for kh := khLo; kh < khHi && kwLo < kwHi; kh++ {
			src := x[((ih0+kh)*W+iw0+kwLo)*C:][:(kwHi-kwLo)*C]
			dst := row[(kh*KW+kwLo)*C:][:len(src)]
			if C < 8 {
				copyShort(dst, src)
			} else {
				copy(dst, src)
			}
		}
	}
}

// copyShortScalar copies src to dst (len(dst) ≥ len(src)) element by element: copyShort, or
// the tail of its SIMD128 form.
func copyShortScalar(dst, src []float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = v
	}
}

// tapRange returns the taps lo..hi of a window of k taps starting at input index i0 (which may
// be negative: padding) that fall inside an input of n elements: i0+lo ≥ 0 and i0+hi ≤ n. The fast
// window loops call it once per output pixel instead of testing every tap; lo ≥ hi when none do.
func tapRange(i0, k, n int) (lo, hi int) {
	return max(0, -i0), min(k, n-i0)
}

// ConvGemm computes out = act(a·wᵀ + b): a is (M,K), w is (N,K), b is (N) or nil, out is (M,N).
//
//	out[m,n] = act(b[n] + Σ_k a[m,k]·w[n,k])
//
// It is convGemm: in the scalar build gemmNT, the product the dense layer uses too, then the bias
// and the activation row by row; in the SIMD128 build a kernel over packed panels of weights that
// applies both in registers before its one store (convgemm_simd.go).
func ConvGemm(out, a, w, b []float32, M, K, N int, act FusedAct) {
	if M < 0 || K <= 0 || N <= 0 {
		panic("kernels: ConvGemm size <= 0")
	}
	if len(a) < M*K || len(w) < N*K || len(out) < M*N || (b != nil && len(b) < N) {
		panic("kernels: ConvGemm slice too short")
	}
	convGemm(out, a, w, nil, b, M, K, N, act)
}

// ConvGemmPacked is ConvGemm with w packed once (PackWeights): the same bits.
func ConvGemmPacked(out, a []float32, pw *PackedWeights, b []float32, M int, act FusedAct) {
	K, N := pw.K, pw.N
	if M < 0 {
		panic("kernels: ConvGemmPacked size < 0")
	}
	if len(a) < M*K || len(out) < M*N || (b != nil && len(b) < N) {
		panic("kernels: ConvGemmPacked slice too short")
	}
	convGemm(out, a, pw.w, pw.panels, b, M, K, N, act)
}

// biasAct adds b (N) or nothing to each row of out (M,N) and applies act: the second half of
// ConvGemm wherever it runs on gemmNT.
func biasAct(out, b []float32, M, N int, act FusedAct) {
	if b == nil && act == FusedNone {
		return
	}
	for r := 0; r < M; r++ {
		row := out[r*N:][:N]
		if b != nil {
			addBias(row, b[:N])
		}
		actApply(row, act)
	}
}

// addBiasScalar does row[n] += b[n]; addBias is it, or its SIMD128 form (same bits).
// len(row) == len(b).
func addBiasScalar(row, b []float32) {
	row = row[:len(b)]
	for n, v := range b {
		row[n] += v
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

// Conv2DBackward accumulates the gradients of Conv2D, taken before its fused activation (run
// ActBackward on the output's gradient first):
//
//	dout (OH,OW,OC), x (H,W,C), w (OC,KH,KW,C)
//	dw (OC,KH,KW,C) += Σ_{oh,ow} dout[oh,ow,o] · x[oh·stride+kh-padTop, ow·stride+kw-padLeft, c] (nil: skipped)
//	db (OC)         += Σ_{oh,ow} dout[oh,ow,o]                          (skipped when db is nil)
//	dx (H,W,C)      += Σ_{oh,ow,o} dout[oh,ow,o] · w[o,kh,kw,c] at the tap that read x (nil: skipped)
//
// A convolution is the dense layer applied to the im2col matrix, so its backward is
// LinearBackward on (OH·OW, KH·KW·C) and, for dx, Col2im folding that matrix's gradient back onto
// the image. col (needed for dw) and dcol (needed for dx) are scratch of (OH·OW, KH·KW·C) each; a
// 1×1 stride-1 convolution needs neither (x is already the matrix) and both may be nil.
func Conv2DBackward(dx, dw, db, dout, x, w, col, dcol []float32, H, W, C, OC, KH, KW, stride, padTop, padLeft, OH, OW int) {
	if H <= 0 || W <= 0 || C <= 0 || OC <= 0 || KH <= 0 || KW <= 0 || stride <= 0 || OH <= 0 || OW <= 0 {
		panic("kernels: Conv2DBackward size <= 0")
	}
	K := KH * KW * C
	M := OH * OW
	if len(x) < H*W*C || len(w) < OC*K || len(dout) < M*OC || (dw != nil && len(dw) < OC*K) ||
		(db != nil && len(db) < OC) || (dx != nil && len(dx) < H*W*C) {
		panic("kernels: Conv2DBackward slice too short")
	}
	if KH == 1 && KW == 1 && stride == 1 && padTop == 0 && padLeft == 0 && OH == H && OW == W {
		convGemmBackward(dx, dw, db, dout, x, w, M, K, OC)
		return
	}
	if (dw != nil && len(col) < M*K) || (dx != nil && len(dcol) < M*K) {
		panic("kernels: Conv2DBackward col too short")
	}
	if dw != nil {
		Im2col(col, x, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW)
	}
	if dx == nil {
		convGemmBackward(nil, dw, db, dout, col, w, M, K, OC)
		return
	}
	clear(dcol[:M*K])
	convGemmBackward(dcol, dw, db, dout, col, w, M, K, OC)
	Col2im(dx, dcol, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW)
}

// convGemmBackward is LinearBackward that also skips dw when it is nil: a frozen layer on the path
// of an input gradient (the attack) needs dx alone, half the work.
func convGemmBackward(dx, dw, db, dout, a, w []float32, M, K, N int) {
	if dw != nil {
		LinearBackward(dx, dw, db, dout, a, w, M, K, N)
		return
	}
	if db != nil {
		for m := 0; m < M; m++ {
			for n, g := range dout[m*N : m*N+N] {
				db[n] += g
			}
		}
	}
	if dx != nil {
		linearBackwardX(dx, dout, w, M, K, N)
	}
}

// Col2im is Im2col's adjoint: it adds each row of dcol, (OH·OW, KH·KW·C), back onto the pixels of
// dx (H,W,C) that the row was read from. Taps that fell in the padding are dropped.
func Col2im(dx, dcol []float32, H, W, C, KH, KW, stride, padTop, padLeft, OH, OW int) {
	K := KH * KW * C
	if len(dcol) < OH*OW*K || len(dx) < H*W*C {
		panic("kernels: Col2im slice too short")
	}
	for oh := 0; oh < OH; oh++ {
		ih0 := oh*stride - padTop
		khLo, khHi := tapRange(ih0, KH, H)
		for ow := 0; ow < OW; ow++ {
			iw0 := ow*stride - padLeft
			kwLo, kwHi := tapRange(iw0, KW, W)
			row := dcol[(oh*OW+ow)*K:][:K]
			for kh := khLo; kh < khHi && kwLo < kwHi; kh++ {
				// The taps kwLo..kwHi of this kernel row are contiguous in both row and dx.
				src := row[(kh*KW+kwLo)*C:][:(kwHi-kwLo)*C]
				dst := dx[((ih0+kh)*W+iw0+kwLo)*C:][:len(src)]
				for i, v := range src {
					dst[i] += v
				}
			}
		}
	}
}

// conv2DBackwardNaive is Conv2DBackward's reference: the three sums of its doc comment, one
// output element at a time.
func conv2DBackwardNaive(dx, dw, db, dout, x, w []float32, H, W, C, OC, KH, KW, stride, padTop, padLeft, OH, OW int) {
	for oh := 0; oh < OH; oh++ {
		for ow := 0; ow < OW; ow++ {
			for o := 0; o < OC; o++ {
				g := dout[(oh*OW+ow)*OC+o]
				if db != nil {
					db[o] += g
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
							wi := ((o*KH+kh)*KW+kw)*C + c
							xi := (ih*W+iw)*C + c
							if dw != nil {
								dw[wi] += g * x[xi]
							}
							if dx != nil {
								dx[xi] += g * w[wi]
							}
						}
					}
				}
			}
		}
	}
}
