package kernels

import (
	"fmt"
	"math"
	"testing"
)

// gemmSizes hit every remainder of both gemm kernels: rows in pairs, outputs in threes (scalar)
// and fours (SIMD128), k in pairs (scalar) and fours (SIMD128), K below one vector; plus the
// backbone's and the heads' shapes.
var gemmSizes = [][3]int{
	{1, 1, 1}, {1, 3, 2}, {2, 4, 4}, {3, 5, 5}, {2, 7, 3}, {5, 8, 7}, {4, 9, 9}, {7, 15, 12},
	{3, 16, 13}, {6, 17, 6}, {9, 27, 16}, {11, 64, 24}, {4, 72, 10}, {33, 127, 100}, {32, 1280, 10},
}

// gemmRef is the formula in gemmNT's doc comment, summed in float64.
func gemmRef(out, a, w []float32, M, K, N int) {
	for m := 0; m < M; m++ {
		for n := 0; n < N; n++ {
			var s float64
			for k := 0; k < K; k++ {
				s += float64(a[m*K+k]) * float64(w[n*K+k])
			}
			out[m*N+n] = float32(s)
		}
	}
}

// TestGemmNT checks the gemm this build runs (SIMD128 under GOEXPERIMENT=simd on wasm, scalar
// elsewhere) and the scalar kernel against the float64 formula, with guard cells around the
// output. The tolerance is the float32 bound for a K-term dot product, K·2⁻²⁴·Σ|a·w| (plus a
// little): whichever order a kernel adds in must land inside it.
func TestGemmNT(t *testing.T) {
	rng := NewRNG(11)
	for _, sz := range gemmSizes {
		M, K, N := sz[0], sz[1], sz[2]
		a, w := randVec(&rng, M*K), randVec(&rng, N*K)
		want := make([]float32, M*N)
		gemmRef(want, a, w, M, K, N)
		for _, k := range []struct {
			name string
			f    func(out, a, w []float32, M, K, N int)
		}{{SIMD, gemmNT}, {"scalar", gemmNTScalar}} {
			out := newGuarded(make([]float32, M*N))
			k.f(out.data(), a, w, M, K, N)
			name := fmt.Sprintf("%s M=%d K=%d N=%d", k.name, M, K, N)
			out.check(t, name)
			for m := 0; m < M; m++ {
				for n := 0; n < N; n++ {
					var mag float64
					for i := 0; i < K; i++ {
						mag += math.Abs(float64(a[m*K+i]) * float64(w[n*K+i]))
					}
					bound := float64(K+2) * 0x1p-24 * mag
					if d := math.Abs(float64(out.data()[m*N+n]) - float64(want[m*N+n])); d > bound {
						t.Fatalf("%s: out[%d,%d] = %v, want %v (|diff| %.3g > bound %.3g)", name, m, n, out.data()[m*N+n], want[m*N+n], d, bound)
					}
				}
			}
		}
	}
}

// TestGemmNTRowInvariant checks that a row's outputs have the same bits whether it is computed
// alone or at any place in a batch: a prediction for one image equals its row of a batch.
func TestGemmNTRowInvariant(t *testing.T) {
	rng := NewRNG(12)
	for _, sz := range gemmSizes {
		M, K, N := sz[0]+2, sz[1], sz[2]
		a, w := randVec(&rng, M*K), randVec(&rng, N*K)
		batch := make([]float32, M*N)
		gemmNT(batch, a, w, M, K, N)
		for m := 0; m < M; m++ {
			one := make([]float32, N)
			gemmNT(one, a[m*K:(m+1)*K], w, 1, K, N)
			for n := range one {
				if math.Float32bits(one[n]) != math.Float32bits(batch[m*N+n]) {
					t.Fatalf("%s M=%d K=%d N=%d: row %d output %d alone %v, in the batch %v", SIMD, M, K, N, m, n, one[n], batch[m*N+n])
				}
			}
		}
	}
}

// gemmBenchShapes: centernet's heaviest 1×1 convolutions (M = pixels, K = input channels, N =
// output channels), then W1's dense layer for a batch of 32 and for all N=1000 rows at once.
var gemmBenchShapes = [][3]int{
	{12544, 16, 64}, {3136, 24, 72}, {3136, 72, 24}, {784, 32, 96}, {196, 88, 528}, {196, 528, 88},
	{49, 120, 720}, {32, 1280, 10}, {1000, 1280, 10},
}

func benchGemm(b *testing.B, f func(out, a, w []float32, M, K, N int)) {
	for _, s := range gemmBenchShapes {
		M, K, N := s[0], s[1], s[2]
		b.Run(fmt.Sprintf("M=%d/K=%d/N=%d", M, K, N), func(b *testing.B) {
			rng := NewRNG(1)
			a, w, out := randVec(&rng, M*K), randVec(&rng, N*K), make([]float32, M*N)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				f(out, a, w, M, K, N)
			}
			b.ReportMetric(2*float64(M*K*N)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
		})
	}
}

// BenchmarkGemm runs the gemm this build uses (kernels.SIMD says which).
func BenchmarkGemm(b *testing.B) { benchGemm(b, gemmNT) }

// BenchmarkGemmScalar runs the scalar kernel, the baseline of the SIMD128 one.
func BenchmarkGemmScalar(b *testing.B) { benchGemm(b, gemmNTScalar) }
