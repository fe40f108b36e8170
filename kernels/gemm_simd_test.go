//go:build goexperiment.simd && wasm

package kernels

import (
	"fmt"
	"math/rand/v2"
	"runtime"
	"testing"
)

// TestGemmForms holds both SIMD128 gemm forms to the float64 formula on the shapes where either
// may run, so the one gemmNT does not pick at a size stays correct too.
func TestGemmForms(t *testing.T) {
	rng := NewRNG(13)
	for _, sz := range gemmSizes {
		M, K, N := sz[0], sz[1], sz[2]
		if K < 4 || N < 4 {
			continue
		}
		a, w := randVec(&rng, M*K), randVec(&rng, N*K)
		want := make([]float32, M*N)
		gemmRef(want, a, w, M, K, N)
		for name, f := range map[string]func(out, a, w []float32, M, K, N int){"dot": gemmDot, "outer": gemmSmallK} {
			out := newGuarded(make([]float32, M*N))
			f(out.data(), a, w, M, K, N)
			out.check(t, name)
			assertClose(t, name, out.data(), want, 1e-5, 1e-4)
		}
	}
}

// BenchmarkGemmDot and BenchmarkGemmOuter time the two SIMD128 forms on the same shapes: where
// the outer-product form wins (small K) is where gemmNT uses it.
func BenchmarkGemmDot(b *testing.B)   { benchGemm(b, gemmDot) }
func BenchmarkGemmOuter(b *testing.B) { benchGemm(b, gemmSmallK) }

// TestGemmAllocatesNothing: once warm, neither form allocates, nor does ConvGemm, also across
// collections (the packed-weights buffer of the outer-product form survives a GC).
func TestGemmAllocatesNothing(t *testing.T) {
	rng := NewRNG(14)
	for _, sz := range [][3]int{{64, 16, 24}, {32, 480, 10}, {130, 40, 16}} {
		M, K, N := sz[0], sz[1], sz[2]
		a, w, out := randVec(&rng, M*K), randVec(&rng, N*K), make([]float32, M*N)
		if n := testing.AllocsPerRun(10, func() { runtime.GC(); gemmNT(out, a, w, M, K, N) }); n != 0 {
			t.Fatalf("M=%d K=%d N=%d: %v allocations per call", M, K, N, n)
		}
		b := randVec(&rng, N)
		if n := testing.AllocsPerRun(10, func() { runtime.GC(); ConvGemm(out, a, w, b, M, K, N, FusedRelu6) }); n != 0 {
			t.Fatalf("ConvGemm M=%d K=%d N=%d: %v allocations per call", M, K, N, n)
		}
	}
}

// TestConvGemmForms holds both forms of the SIMD128 ConvGemm (bias and activation in registers)
// and ConvGemm's choice between them to the naive convolution at every remainder of their blocks:
// rows in fours and twos, outputs in eights and fours, K below, at and above a vector multiple,
// M on both sides of convOuterMinM; with guard cells, with and without bias.
func TestConvGemmForms(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	forms := map[string]func(out, a, w, b []float32, M, K, N int, act FusedAct){
		"outer": gemmOuter, "dot": gemmDotAct, "ConvGemm": ConvGemm,
		"panels": func(out, a, w, b []float32, M, K, N int, act FusedAct) {
			gemmPanels(out, a, w, packConv(w, K, N), b, M, K, N, act)
		},
	}
	for _, M := range []int{1, 2, 3, 4, 5, 7, 9, 130} {
		for _, K := range []int{4, 5, 7, 16, 27, 33, 200} {
			for _, N := range []int{4, 5, 8, 9, 15, 16, 17, 23, 24} {
				a, w, b := cvRand(r, M*K), cvRand(r, N*K), cvRand(r, N)
				for _, bias := range [][]float32{b, nil} {
					for _, act := range cvActs {
						want := make([]float32, M*N)
						conv2DNaive(want, a, w, bias, M, 1, K, N, 1, 1, 1, 0, 0, M, 1, act)
						for name, f := range forms {
							got := newGuarded(make([]float32, M*N))
							f(got.data(), a, w, bias, M, K, N, act)
							label := fmt.Sprintf("%s M=%d K=%d N=%d bias=%v %v", name, M, K, N, bias != nil, act)
							got.check(t, label)
							cvClose(t, label, got.data(), want, 1e-5)
						}
					}
				}
			}
		}
	}
}

// BenchmarkConvGemmShapes runs ConvGemm on the gemm benchmark's shapes, as the bench page's gemm
// part does.
func BenchmarkConvGemmShapes(b *testing.B) {
	benchGemm(b, func(out, a, w []float32, M, K, N int) { ConvGemm(out, a, w, nil, M, K, N, FusedNone) })
}

// TestConv2DDirectSameBits holds conv2DDirect (taps read from x, im2col rows only at the border)
// to im2col and the gemm bit for bit, packed and unpacked, with guard cells: stride 1 and 2,
// windows 3 and 5, rows with and without a full group of four pixels.
func TestConv2DDirectSameBits(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, tc := range []struct{ H, W, C, OC, K, stride int }{
		{9, 13, 3, 16, 3, 2}, {8, 8, 3, 16, 3, 1}, {7, 12, 5, 8, 5, 1}, {6, 6, 4, 24, 3, 2},
		{5, 4, 3, 8, 3, 1}, {12, 17, 2, 8, 3, 1}, {10, 11, 3, 48, 3, 2},
	} {
		OH, pt := SamePadding(tc.H, tc.K, tc.stride)
		OW, pl := SamePadding(tc.W, tc.K, tc.stride)
		K := tc.K * tc.K * tc.C
		x, w, b := cvRand(r, tc.H*tc.W*tc.C), cvRand(r, tc.OC*K), cvRand(r, tc.OC)
		col := make([]float32, OH*OW*K)
		pw := PackWeights(w, tc.OC, K)
		for _, bias := range [][]float32{b, nil} {
			for _, act := range cvActs {
				want := make([]float32, OH*OW*tc.OC)
				Im2col(col, x, tc.H, tc.W, tc.C, tc.K, tc.K, tc.stride, pt, pl, OH, OW)
				ConvGemm(want, col, w, bias, OH*OW, K, tc.OC, act)
				name := fmt.Sprintf("%+v bias=%v %v", tc, bias != nil, act)
				got := newGuarded(make([]float32, OH*OW*tc.OC))
				if !conv2DDirect(got.data(), x, w, nil, bias, col, tc.H, tc.W, tc.C, tc.OC, tc.K, tc.K, tc.stride, pt, pl, OH, OW, act) {
					t.Fatalf("%s: conv2DDirect declined", name)
				}
				got.check(t, name)
				sameBits(t, name, got.data(), want)
				packed := newGuarded(make([]float32, OH*OW*tc.OC))
				Conv2DPacked(packed.data(), x, pw, bias, col, tc.H, tc.W, tc.C, tc.K, tc.K, tc.stride, pt, pl, OH, OW, act)
				packed.check(t, name+" packed")
				sameBits(t, name+" packed", packed.data(), want)
			}
		}
	}
}
