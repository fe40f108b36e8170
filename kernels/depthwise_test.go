package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

func TestDepthwiseConv2D(t *testing.T) {
	r := rand.New(rand.NewPCG(9, 10))
	for _, K := range []int{3, 5} {
		for _, stride := range []int{1, 2} {
			for _, sz := range []struct{ H, W, C int }{{1, 1, 1}, {2, 3, 3}, {7, 7, 5}, {8, 6, 8}, {9, 9, 17}, {4, 11, 4}} {
				OH, pt := SamePadding(sz.H, K, stride)
				OW, pl := SamePadding(sz.W, K, stride)
				x, w, b := cvRand(r, sz.H*sz.W*sz.C), cvRand(r, K*K*sz.C), cvRand(r, sz.C)
				for _, act := range cvActs {
					got, check := cvGuarded(t, OH*OW*sz.C)
					DepthwiseConv2D(got, x, w, b, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW, act)
					check()
					want := make([]float32, OH*OW*sz.C)
					depthwiseConv2DNaive(want, x, w, b, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW, act)
					cvClose(t, fmt.Sprintf("K=%d s=%d %+v %v", K, stride, sz, act), got, want, 1e-5)
				}
			}
		}
	}
}

// BenchmarkDepthwiseConv2D times MobileNet depthwise layers at their 224-input sizes.
func BenchmarkDepthwiseConv2D(b *testing.B) {
	for _, sz := range []struct{ H, C, K, stride int }{{112, 64, 3, 2}, {28, 120, 5, 1}, {14, 480, 3, 1}, {14, 672, 5, 2}} {
		r := rand.New(rand.NewPCG(11, 12))
		OH, pt := SamePadding(sz.H, sz.K, sz.stride)
		x, w, bias := cvRand(r, sz.H*sz.H*sz.C), cvRand(r, sz.K*sz.K*sz.C), cvRand(r, sz.C)
		out := make([]float32, OH*OH*sz.C)
		flops := float64(2 * OH * OH * sz.K * sz.K * sz.C)
		name := fmt.Sprintf("H=%d,C=%d,K=%d,s=%d", sz.H, sz.C, sz.K, sz.stride)
		b.Run("naive/"+name, func(b *testing.B) {
			for b.Loop() {
				depthwiseConv2DNaive(out, x, w, bias, sz.H, sz.H, sz.C, sz.K, sz.K, sz.stride, pt, pt, OH, OH, FusedRelu6)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
		b.Run("direct/"+name, func(b *testing.B) {
			for b.Loop() {
				DepthwiseConv2D(out, x, w, bias, sz.H, sz.H, sz.C, sz.K, sz.K, sz.stride, pt, pt, OH, OH, FusedRelu6)
			}
			b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}
