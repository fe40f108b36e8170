package kernels

import (
	"fmt"
	"testing"
)

// The head shapes: a mini-batch of 32 through Dense(10) and Dense(100) on 1280-d features, the
// 100→10 second layer, a 480-d backbone feature, and the N=1024 case the design facts quote.
var linearBenchShapes = [][3]int{{32, 1280, 10}, {32, 1280, 100}, {32, 100, 10}, {16, 480, 20}, {1024, 1280, 10}}

func benchLinear(b *testing.B, f func(N, D, C int, x, w, bias, out, dout, dx, dw, db []float32), flopsPer func(N, D, C int) float64) {
	for _, s := range linearBenchShapes {
		N, D, C := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("N=%d/D=%d/C=%d", N, D, C), func(b *testing.B) {
			rng := NewRNG(1)
			x, w, bias, dout := randVec(&rng, N*D), randVec(&rng, C*D), randVec(&rng, C), randVec(&rng, N*C)
			out, dx, dw, db := make([]float32, N*C), make([]float32, N*D), make([]float32, C*D), make([]float32, C)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f(N, D, C, x, w, bias, out, dout, dx, dw, db)
			}
			b.ReportMetric(flopsPer(N, D, C)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

func fwdFlops(N, D, C int) float64 { return 2 * float64(N) * float64(D) * float64(C) }
func bwdFlops(N, D, C int) float64 { return 4 * float64(N) * float64(D) * float64(C) }

func BenchmarkLinearForward(b *testing.B) {
	benchLinear(b, func(N, D, C int, x, w, bias, out, _, _, _, _ []float32) {
		LinearForward(out, x, w, bias, N, D, C)
	}, fwdFlops)
}

func BenchmarkLinearForwardNaive(b *testing.B) {
	benchLinear(b, func(N, D, C int, x, w, bias, out, _, _, _, _ []float32) {
		linearForwardNaive(out, x, w, bias, N, D, C)
	}, fwdFlops)
}

func BenchmarkLinearBackward(b *testing.B) {
	benchLinear(b, func(N, D, C int, x, w, _, _, dout, dx, dw, db []float32) {
		LinearBackward(dx, dw, db, dout, x, w, N, D, C)
	}, bwdFlops)
}

func BenchmarkLinearBackwardNaive(b *testing.B) {
	benchLinear(b, func(N, D, C int, x, w, _, _, dout, dx, dw, db []float32) {
		linearBackwardNaive(dx, dw, db, dout, x, w, N, D, C)
	}, bwdFlops)
}

// BenchmarkLinearBackwardNoDX is the first layer's backward pass: dW and db only.
func BenchmarkLinearBackwardNoDX(b *testing.B) {
	benchLinear(b, func(N, D, C int, x, w, _, _, dout, _, dw, db []float32) {
		LinearBackward(nil, dw, db, dout, x, w, N, D, C)
	}, fwdFlops)
}
