//go:build goexperiment.simd && wasm

package kernels

import (
	"simd/archsimd"
	"sync/atomic"
	"unsafe"
)

// gemmNT is the matrix product both the dense layer and the convolutions run on:
//
//	a (M,K), w (N,K), out (M,N)
//	out[m*N+n] = Σ_k a[m*K+k]·w[n*K+k]
//
// This is the SIMD128 form: rows of a two at a time, outputs four at a time, k four lanes at a
// time into one f32x4 accumulator per output (8 accumulators and 6 loaded vectors: 14 of the 16
// vector registers Go's wasm backend allocates, so nothing spills; vdot2xN). Each output then adds its
// lanes as (l0+l1)+(l2+l3) and the last K mod 4 products one by one. Every block shape (2×4, 2×1,
// 1×4, 1×1) adds in that one order, so a row gives the same bits alone or in a batch, but the
// order is not the scalar kernel's: results differ from it (and from native) in the last bits.
// K < 4 has no full vector and runs the scalar kernel; K ≤ smallK runs gemmSmallK. The path
// depends on K and N only, never on M, so rows stay independent of the batch. Callers have
// checked the sizes; K > 0.
func gemmNT(out, a, w []float32, M, K, N int) {
	if K < 4 {
		gemmNTScalar(out, a, w, M, K, N)
		return
	}
	if K <= smallK && N >= 4 {
		gemmSmallK(out, a, w, M, K, N)
		return
	}
	gemmDot(out, a, w, M, K, N)
}

// gemmDot is gemmNT in dot-product form (the blocks its doc comment describes), for K ≥ 4.
func gemmDot(out, a, w []float32, M, K, N int) { gemmDotAct(out, a, w, nil, M, K, N, FusedNone) }

// gemmDotAct is gemmDot that adds b (N, or nil) and applies act to each pair of rows right after
// computing it, as gemmOuter does.
func gemmDotAct(out, a, w, b []float32, M, K, N int, act FusedAct) {
	w = w[:N*K]
	m := 0
	for ; m+2 <= M; m += 2 {
		o0, o1 := out[m*N:m*N+N], out[(m+1)*N:(m+1)*N+N]
		a0, a1 := a[m*K:m*K+K], a[(m+1)*K:(m+1)*K+K]
		n := N &^ 3
		if n > 0 {
			_, _ = o1[n-1], a1[K-1]
			vdot2xN(unsafe.Pointer(&o0[0]), unsafe.Pointer(&a0[0]), unsafe.Pointer(&w[0]), K, N, n)
		}
		for ; n < N; n++ {
			o0[n], o1[n] = vdot2x1(a0, a1, w[n*K:n*K+K])
		}
		biasAct(out[m*N:(m+2)*N], b, 2, N, act)
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
		biasAct(o, b, 1, N, act)
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

// smallK is the largest K that gemmSmallK takes. Below it the dot-product kernels spend more on
// adding up their lanes (3 extracts and 3 adds per output) than on the K/4 vector steps;
// centernet's first 1×1 convolutions (K = 16, 24) and its 3×3 stem (K = 27) are such shapes
// (measured in Node: the dot products ran 5–7 GFLOP/s there against 12–19 at K ≥ 72; the outer
// products 1.7×, 1.06× and 2.7× as fast as them at K = 16, 24, 32, and 0.66× at K = 72:
// BenchmarkGemmDot, BenchmarkGemmOuter).
const smallK = 32

// packBuf and rowBuf keep the buffers for packed weights (gemmOuter, conv2DDirect) and packed rows
// (gemmPanels) between calls: a call takes one (takeBuf), and gives it back (Store). A sync.Pool
// would be emptied by every second GC and make the training loop allocate again; a call that finds
// the buffer taken (another goroutine is inside) allocates its own.
var packBuf, rowBuf atomic.Pointer[[]float32]

// takeBuf takes pool's buffer, grown to hold n values.
func takeBuf(pool *atomic.Pointer[[]float32], n int) *[]float32 {
	buf := pool.Swap(nil)
	if buf == nil {
		buf = new([]float32)
	}
	if cap(*buf) < n {
		*buf = make([]float32, n)
	}
	return buf
}

// gemmSmallK is gemmNT for small K, in the other form: gemmOuter without bias or activation.
func gemmSmallK(out, a, w []float32, M, K, N int) { gemmOuter(out, a, w, nil, M, K, N, FusedNone) }

// gemmOuter is the outer-product form of the gemm, with b (N, or nil) added and act applied to
// each group of rows right after computing it, while the rows are still in the cache (ConvGemm's
// bias and activation, in the order gemm, bias, activation). The weights are packed into panels
// once per call (packPanels: K·N copies against M·K·N multiply-adds), then gemmPanels runs;
// ConvGemmPacked skips the packing for weights packed once at load time.
func gemmOuter(out, a, w, b []float32, M, K, N int, act FusedAct) {
	buf, p := takePanels(w, K, N)
	gemmPanels(out, a, w, p, b, M, K, N, act)
	packBuf.Store(buf)
}

// takePanels packs w (N,K) into packBuf's buffer (packPanels) for one call, which gives the
// buffer back with packBuf.Store(buf) when done with p.
func takePanels(w []float32, K, N int) (buf *[]float32, p []float32) {
	n := (N &^ 7) * K
	buf = takeBuf(&packBuf, n)
	p = (*buf)[:n]
	packPanels(p, w, K, N)
	return buf, p
}

// packPanels lays the first N&^7 rows of w (N,K) out as panels of eight outputs, each (K,8): p[j·8K
// + k·8 + i] = w[(8j+i)·K + k], so the outer-product kernels read the eight weights of one k as two
// contiguous vectors and a panel as one stream (the transposed (K,N) matrix they read before
// strides N apart, which cost up to 28% at K ≥ 224). len(p) ≥ (N&^7)·K.
func packPanels(p, w []float32, K, N int) {
	for j := 0; j < N/8; j++ {
		panel := p[j*8*K : (j+1)*8*K]
		for i := 0; i < 8; i++ {
			row := w[(8*j+i)*K : (8*j+i+1)*K]
			for k, v := range row {
				panel[k*8+i] = v
			}
		}
	}
}

// gemmPanels is gemmOuter on weights already packed: w (N,K) as given, p its panels (packPanels).
// Each block of 4 rows × 8 outputs keeps its eight f32x4 sums in registers while k runs, adding
// a[m,k]·p[k, 0:8] with a[m,k] broadcast. The rows go in chunks of about 32 KiB, each first
// interleaved four rows at a time (packRows4), so that the block reads its four a[m,k] at fixed
// offsets from one pointer: 17–25 GFLOP/s in Node against 6–22 reading the four rows where they
// are, packing included (most at small K, where the four row addresses cost as much as the
// arithmetic). Every output adds its K products one after another, from zero: the naive loop's
// order, also for the remainder rows (1×8 blocks) and the last N mod 8 outputs (scalar, from w's
// rows), so rows stay batch-invariant.
func gemmPanels(out, a, w, p, b []float32, M, K, N int, act FusedAct) {
	m4, n8 := M&^3, N&^7
	if m4 > 0 && n8 > 0 {
		_, _, _ = out[(m4-1)*N+n8-1], a[m4*K-1], p[n8*K-1]
		var bp unsafe.Pointer
		if b != nil {
			bp = unsafe.Pointer(&b[:n8][0])
		}
		chunk := min(m4, max(4, (packRowsMax/K)&^3))
		buf := takeBuf(&rowBuf, chunk*K)
		for m := 0; m < m4; m += chunk {
			rows := min(chunk, m4-m)
			packRows4((*buf)[:rows*K], a[m*K:(m+rows)*K], K)
			vouter4xN(unsafe.Pointer(&out[m*N]), unsafe.Pointer(&(*buf)[0]), unsafe.Pointer(&p[0]), bp, K, N, n8, rows/4, act)
		}
		rowBuf.Store(buf)
	}
	for m := m4; m < M; m++ {
		o, a0 := out[m*N:m*N+N], a[m*K:m*K+K]
		for n := 0; n < n8; n += 8 {
			vouter1x8(o[n:n+8], a0, p[n*K:(n+8)*K], biasAt(b, n), act)
		}
	}
	if n8 < N {
		var bt []float32
		if b != nil {
			bt = b[n8:N]
		}
		for m := 0; m < M; m++ {
			o, a0 := out[m*N:m*N+N], a[m*K:m*K+K]
			for j := n8; j < N; j++ {
				o[j] = seqDot(a0, w[j*K:j*K+K])
			}
			biasAct(o[n8:N], bt, 1, N-n8, act)
		}
	}
}

// packRowsMax is the most values of a that gemmPanels packs at a time: 32 KiB, the first-level
// data cache of most machines, so the packed rows are still there for every panel.
const packRowsMax = 8 << 10

// packRows4 interleaves the rows of a (a multiple of four rows of K) four at a time: dst[g·4K +
// k·4 + j] = a[(4g+j)·K + k]. Four k at a time it loads one vector from each row and moves lanes
// (extract, replace: WebAssembly SIMD128 has the lane moves but archsimd no shuffle).
func packRows4(dst, a []float32, K int) {
	groups := len(a) / (4 * K)
	if groups == 0 {
		return
	}
	_ = dst[groups*4*K-1]
	d, rk := unsafe.Pointer(&dst[0]), uintptr(K)*4
	for g := 0; g < groups; g++ {
		r0 := unsafe.Pointer(&a[g*4*K])
		r1 := unsafe.Add(r0, rk)
		r2 := unsafe.Add(r1, rk)
		r3 := unsafe.Add(r2, rk)
		k := K
		for ; k >= 4; k -= 4 {
			v0, v1, v2, v3 := ld(r0), ld(r1), ld(r2), ld(r3)
			var t archsimd.Float32x4
			stAt(d, 0, t.SetElem(0, v0.GetElem(0)).SetElem(1, v1.GetElem(0)).SetElem(2, v2.GetElem(0)).SetElem(3, v3.GetElem(0)))
			stAt(d, 4, t.SetElem(0, v0.GetElem(1)).SetElem(1, v1.GetElem(1)).SetElem(2, v2.GetElem(1)).SetElem(3, v3.GetElem(1)))
			stAt(d, 8, t.SetElem(0, v0.GetElem(2)).SetElem(1, v1.GetElem(2)).SetElem(2, v2.GetElem(2)).SetElem(3, v3.GetElem(2)))
			stAt(d, 12, t.SetElem(0, v0.GetElem(3)).SetElem(1, v1.GetElem(3)).SetElem(2, v2.GetElem(3)).SetElem(3, v3.GetElem(3)))
			d = unsafe.Add(d, 64)
			r0, r1, r2, r3 = unsafe.Add(r0, 16), unsafe.Add(r1, 16), unsafe.Add(r2, 16), unsafe.Add(r3, 16)
		}
		for ; k > 0; k-- {
			set(d, 0, at(r0, 0))
			set(d, 1, at(r1, 0))
			set(d, 2, at(r2, 0))
			set(d, 3, at(r3, 0))
			d = unsafe.Add(d, 16)
			r0, r1, r2, r3 = unsafe.Add(r0, 4), unsafe.Add(r1, 4), unsafe.Add(r2, 4), unsafe.Add(r3, 4)
		}
	}
}

// seqDot returns Σ_k x[k]·w[k], added one after another from zero. len(w) ≥ len(x).
func seqDot(x, w []float32) float32 {
	var s float32
	w = w[:len(x)]
	for k, v := range x {
		s += v * w[k]
	}
	return s
}

// biasAt returns a pointer to b[n] for the micro-kernels, nil when b is nil; b has n+8 elements.
func biasAt(b []float32, n int) unsafe.Pointer {
	if b == nil {
		return nil
	}
	return unsafe.Pointer(&b[n : n+8][0])
}

// vouter1x8 sets o0[0:8] = act(Σ_k x0[k]·panel[k·8 : k·8+8] + bias[0:8]), with K = len(x0) ≥ 1;
// panel is one panel of packPanels, bias nil or a pointer to 8 values.
func vouter1x8(o0, rx0, panel []float32, bias unsafe.Pointer, act FusedAct) {
	K := len(rx0)
	_, _ = panel[K*8-1], o0[7]
	x0, wp := unsafe.Pointer(&rx0[0]), unsafe.Pointer(&panel[0])
	var s0, s1 archsimd.Float32x4
	for k := 0; ; {
		b := archsimd.BroadcastFloat32x4(at(x0, uintptr(k)))
		s0, s1 = s0.Add(b.Mul(ld(wp))), s1.Add(b.Mul(ld(unsafe.Add(wp, 16))))
		if k++; k == K {
			break
		}
		wp = unsafe.Add(wp, 32)
	}
	if bias != nil {
		s0, s1 = s0.Add(ld(bias)), s1.Add(ld(unsafe.Add(bias, 16)))
	}
	vact(s0, act).Store(o0[0:4])
	vact(s1, act).Store(o0[4:8])
}

// vouter4xN sets out[m+i, n:n+8] = act(Σ_k a[m+i,k]·w[n+j,k] + bias[n:n+8]) for the first
// 4·groups rows and the first n8 outputs, in blocks of 4 rows × 8 outputs: o points at out[0,0],
// rows of N values; x at the rows of a interleaved by packRows4; panels at those of packPanels;
// bias is nil or has n8 values. The eight
// f32x4 sums of a block stay in registers while k runs; the bias and the activation are applied
// to them there, so each output is stored once. One call covers every block (a call per block
// ran 15–40% slower in Node: Go's wasm calls pass every argument through memory). Callers have
// checked the bounds; K ≥ 1, n8 ≥ 8 a multiple of 8, groups ≥ 1.
func vouter4xN(og, xg, panels, bias unsafe.Pointer, K, N, n8, groups int, act FusedAct) {
	ro := uintptr(N)
	for g := 0; g < groups; g++ {
		o, x := unsafe.Add(og, uintptr(g*4*N)*4), unsafe.Add(xg, uintptr(g*4*K)*4)
		for n := 0; n < n8; n += 8 {
			wp := unsafe.Add(panels, n*K*4)
			xp := x
			var s00, s01, s10, s11, s20, s21, s30, s31 archsimd.Float32x4
			for k := K; ; {
				w0, w1 := ld(wp), ld(unsafe.Add(wp, 16))
				b := archsimd.BroadcastFloat32x4(at(xp, 0))
				s00, s01 = s00.Add(b.Mul(w0)), s01.Add(b.Mul(w1))
				b = archsimd.BroadcastFloat32x4(at(xp, 1))
				s10, s11 = s10.Add(b.Mul(w0)), s11.Add(b.Mul(w1))
				b = archsimd.BroadcastFloat32x4(at(xp, 2))
				s20, s21 = s20.Add(b.Mul(w0)), s21.Add(b.Mul(w1))
				b = archsimd.BroadcastFloat32x4(at(xp, 3))
				s30, s31 = s30.Add(b.Mul(w0)), s31.Add(b.Mul(w1))
				if k--; k == 0 {
					break
				}
				wp, xp = unsafe.Add(wp, 32), unsafe.Add(xp, 16)
			}
			if bias != nil {
				bp := unsafe.Add(bias, n*4)
				b0, b1 := ld(bp), ld(unsafe.Add(bp, 16))
				s00, s01, s10, s11 = s00.Add(b0), s01.Add(b1), s10.Add(b0), s11.Add(b1)
				s20, s21, s30, s31 = s20.Add(b0), s21.Add(b1), s30.Add(b0), s31.Add(b1)
			}
			op, ro := unsafe.Add(o, n*4), ro*4
			switch act {
			case FusedNone:
				store4x8(op, ro, s00, s01, s10, s11, s20, s21, s30, s31)
			case FusedRelu:
				store4x8(op, ro, vrelu(s00), vrelu(s01), vrelu(s10), vrelu(s11), vrelu(s20), vrelu(s21), vrelu(s30), vrelu(s31))
			case FusedRelu6:
				store4x8(op, ro, vrelu6(s00), vrelu6(s01), vrelu6(s10), vrelu6(s11), vrelu6(s20), vrelu6(s21), vrelu6(s30), vrelu6(s31))
			default:
				store4x8(op, ro, vact(s00, act), vact(s01, act), vact(s10, act), vact(s11, act),
					vact(s20, act), vact(s21, act), vact(s30, act), vact(s31, act))
			}
		}
	}
}

// store4x8 stores a block of 4 rows × 8 outputs at o, rows ro bytes apart. Its callers apply the
// activation with one branch on act per block (a switch around store4x8 calls, inlined): vact
// on each vector made blocks without an activation 2.4× slower in Node (K=16 N=64: 8.9 GFLOP/s
// against 21.9), and a function doing the switch, too big to inline, 1.3× slower, for reasons of
// V8's code, not of the work.
func store4x8(o unsafe.Pointer, ro uintptr, s00, s01, s10, s11, s20, s21, s30, s31 archsimd.Float32x4) {
	stAt(o, 0, s00)
	stAt(o, 4, s01)
	o = unsafe.Add(o, ro)
	stAt(o, 0, s10)
	stAt(o, 4, s11)
	o = unsafe.Add(o, ro)
	stAt(o, 0, s20)
	stAt(o, 4, s21)
	o = unsafe.Add(o, ro)
	stAt(o, 0, s30)
	stAt(o, 4, s31)
}

// vdot2xN sets out[m+i, n] = x_i·w[n,:] for the two rows i = 0, 1 and the first n4 outputs, in
// blocks of 2 rows × 4 outputs: o points at out[m,0] and x at a[m,0], rows of N and K values; w is
// (N,K). Each output adds as vdot1x4 and vsum do (same bits), with one call for the whole pair
// of rows instead of one per block (up to 1.2× faster in Node).
func vdot2xN(o, x, w unsafe.Pointer, K, N, n4 int) {
	rk, ro := uintptr(K)*4, uintptr(N)*4
	kv := K / 4
	for n := 0; n < n4; n += 4 {
		x0, x1 := x, unsafe.Add(x, rk)
		w0 := unsafe.Add(w, uintptr(n)*rk)
		w1, w2, w3 := unsafe.Add(w0, rk), unsafe.Add(w0, 2*rk), unsafe.Add(w0, 3*rk)
		var s00, s01, s02, s03, s10, s11, s12, s13 archsimd.Float32x4
		for k := kv; ; {
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
		// x0.. now point at the last full vector; the K mod 4 tail follows it.
		o0 := unsafe.Add(o, uintptr(n)*4)
		o1 := unsafe.Add(o0, ro)
		set(o0, 0, vsumPtr(s00, x0, w0, K))
		set(o0, 1, vsumPtr(s01, x0, w1, K))
		set(o0, 2, vsumPtr(s02, x0, w2, K))
		set(o0, 3, vsumPtr(s03, x0, w3, K))
		set(o1, 0, vsumPtr(s10, x1, w0, K))
		set(o1, 1, vsumPtr(s11, x1, w1, K))
		set(o1, 2, vsumPtr(s12, x1, w2, K))
		set(o1, 3, vsumPtr(s13, x1, w3, K))
	}
}

// vsumPtr is vsum for pointers left at the last full vector of rows of K: the lanes as
// (l0+l1)+(l2+l3), then the K mod 4 products past that vector, in order (same bits as vsum).
func vsumPtr(s archsimd.Float32x4, x, w unsafe.Pointer, K int) float32 {
	r := (s.GetElem(0) + s.GetElem(1)) + (s.GetElem(2) + s.GetElem(3))
	for k := uintptr(4); k < uintptr(4+K&3); k++ {
		r += at(x, k) * at(w, k)
	}
	return r
}
