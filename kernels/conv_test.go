package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// cvRand returns n uniform values in [-1, 1) from a fixed seed.
func cvRand(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = 2*r.Float32() - 1
	}
	return s
}

// cvGuarded returns a slice of n elements that sits between guard values, and a check that fails
// the test if a kernel wrote past either end.
func cvGuarded(t *testing.T, n int) ([]float32, func()) {
	const g = 12345.5
	buf := make([]float32, n+16)
	for i := range buf {
		buf[i] = g
	}
	return buf[8 : 8+n], func() {
		t.Helper()
		for i := 0; i < 8; i++ {
			if buf[i] != g || buf[8+n+i] != g {
				t.Fatalf("write outside the output slice")
			}
		}
	}
}

// cvClose fails unless got and want agree within a mixed tolerance: |g-w| <= tol·(1+|w|).
func cvClose(t *testing.T, name string, got, want []float32, tol float64) {
	t.Helper()
	var worst float64
	for i := range want {
		d := math.Abs(float64(got[i]-want[i])) / (1 + math.Abs(float64(want[i])))
		if math.IsNaN(float64(got[i])) || d > tol {
			t.Fatalf("%s: element %d: got %g, want %g", name, i, got[i], want[i])
		}
		worst = max(worst, d)
	}
}

var cvActs = []FusedAct{FusedNone, FusedRelu, FusedRelu6, FusedHardSwish}

// TestConvGemmRemainders holds ConvGemm to the naive convolution at every remainder of its blocks,
// and ConvGemmPacked to ConvGemm bit for bit (a backbone's frozen layers run packed, its
// fine-tuned ones unpacked, and a section must give Forward's features exactly).
func TestConvGemmRemainders(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for _, M := range []int{1, 2, 3, 4, 5, 7, 8, 9, 13} {
		for _, K := range []int{1, 2, 3, 5, 16, 17, 40} {
			for _, N := range []int{1, 2, 3, 4, 5, 6, 7, 8, 9, 13, 16, 17, 24} {
				a, w, b := cvRand(r, M*K), cvRand(r, N*K), cvRand(r, N)
				pw := PackWeights(w, N, K)
				for _, act := range cvActs {
					name := fmt.Sprintf("M=%d K=%d N=%d %v", M, K, N, act)
					got, check := cvGuarded(t, M*N)
					ConvGemm(got, a, w, b, M, K, N, act)
					check()
					want := make([]float32, M*N)
					conv2DNaive(want, a, w, b, M, 1, K, N, 1, 1, 1, 0, 0, M, 1, act)
					cvClose(t, name, got, want, 1e-5)
					packed, check := cvGuarded(t, M*N)
					ConvGemmPacked(packed, a, pw, b, M, act)
					check()
					sameBits(t, name+" packed", packed, got)
				}
			}
		}
	}
}

func TestConv2D(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct{ H, W, C, OC, K, stride int }{
		{1, 1, 1, 1, 1, 1}, {5, 7, 3, 5, 1, 1}, {7, 5, 3, 16, 3, 2}, {8, 8, 3, 16, 3, 2},
		{9, 6, 4, 9, 3, 1}, {6, 6, 5, 7, 5, 2}, {4, 4, 3, 2, 3, 3}, {3, 3, 2, 3, 1, 2},
		{6, 5, 12, 24, 1, 1}, {4, 4, 40, 17, 1, 1}, {7, 7, 9, 33, 3, 1},
	} {
		OH, pt := SamePadding(tc.H, tc.K, tc.stride)
		OW, pl := SamePadding(tc.W, tc.K, tc.stride)
		x := cvRand(r, tc.H*tc.W*tc.C)
		w := cvRand(r, tc.OC*tc.K*tc.K*tc.C)
		b := cvRand(r, tc.OC)
		col := make([]float32, OH*OW*tc.K*tc.K*tc.C)
		pw := PackWeights(w, tc.OC, tc.K*tc.K*tc.C)
		for _, act := range cvActs {
			got, check := cvGuarded(t, OH*OW*tc.OC)
			Conv2D(got, x, w, b, col, tc.H, tc.W, tc.C, tc.OC, tc.K, tc.K, tc.stride, pt, pl, OH, OW, act)
			check()
			want := make([]float32, OH*OW*tc.OC)
			conv2DNaive(want, x, w, b, tc.H, tc.W, tc.C, tc.OC, tc.K, tc.K, tc.stride, pt, pl, OH, OW, act)
			name := fmt.Sprintf("%+v %v", tc, act)
			cvClose(t, name, got, want, 1e-5)
			packed, check := cvGuarded(t, OH*OW*tc.OC)
			Conv2DPacked(packed, x, pw, b, col, tc.H, tc.W, tc.C, tc.K, tc.K, tc.stride, pt, pl, OH, OW, act)
			check()
			sameBits(t, name+" packed", packed, got)
		}
	}
}

func TestSamePadding(t *testing.T) {
	for _, tc := range []struct{ in, k, s, out, before int }{
		{224, 3, 2, 112, 0}, {224, 3, 1, 224, 1}, {7, 5, 2, 4, 2}, {14, 5, 2, 7, 1}, {1, 3, 1, 1, 1}, {7, 1, 1, 7, 0},
	} {
		out, before := SamePadding(tc.in, tc.k, tc.s)
		if out != tc.out || before != tc.before {
			t.Errorf("SamePadding(%d,%d,%d) = %d,%d, want %d,%d", tc.in, tc.k, tc.s, out, before, tc.out, tc.before)
		}
	}
}

func TestConv2DPanics(t *testing.T) {
	defer func() {
		if r := recover(); r != "kernels: Conv2D slice too short" {
			t.Fatalf("recovered %v", r)
		}
	}()
	Conv2D(make([]float32, 3), make([]float32, 4), make([]float32, 4), nil, nil, 2, 2, 1, 1, 1, 1, 1, 0, 0, 2, 2, FusedNone)
}

// BenchmarkConvGemm times a 1×1 convolution of MobileNetV3's 28×28 stage (784 pixels, 40→120
// channels) and a 7×7 one (49 pixels, 160→960), naive and blocked.
func BenchmarkConvGemm(b *testing.B) {
	for _, sz := range []struct{ M, K, N int }{{784, 40, 120}, {49, 160, 960}, {3136, 24, 72}} {
		r := rand.New(rand.NewPCG(5, 6))
		a, w, bias := cvRand(r, sz.M*sz.K), cvRand(r, sz.N*sz.K), cvRand(r, sz.N)
		out := make([]float32, sz.M*sz.N)
		flops := float64(2 * sz.M * sz.K * sz.N)
		name := fmt.Sprintf("M=%d,K=%d,N=%d", sz.M, sz.K, sz.N)
		b.Run("naive/"+name, func(b *testing.B) {
			for b.Loop() {
				conv2DNaive(out, a, w, bias, sz.M, 1, sz.K, sz.N, 1, 1, 1, 0, 0, sz.M, 1, FusedRelu6)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("blocked/"+name, func(b *testing.B) {
			for b.Loop() {
				ConvGemm(out, a, w, bias, sz.M, sz.K, sz.N, FusedRelu6)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkConv2DStem times the first layer of both backbones: 3×3 stride 2 on a 224×224 RGB image.
func BenchmarkConv2DStem(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	const H, C, OC = 224, 3, 16
	OH, pt := SamePadding(H, 3, 2)
	x, w, bias := cvRand(r, H*H*C), cvRand(r, OC*9*C), cvRand(r, OC)
	col := make([]float32, OH*OH*9*C)
	out := make([]float32, OH*OH*OC)
	flops := float64(2 * OH * OH * 9 * C * OC)
	b.Run("naive", func(b *testing.B) {
		for b.Loop() {
			conv2DNaive(out, x, w, bias, H, H, C, OC, 3, 3, 2, pt, pt, OH, OH, FusedNone)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("im2col", func(b *testing.B) {
		for b.Loop() {
			Conv2D(out, x, w, bias, col, H, H, C, OC, 3, 3, 2, pt, pt, OH, OH, FusedNone)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}
