package head

import (
	"math"
	"testing"

	"finetuner/kernels"
)

// TestSemidefiniteCholesky: L·Lᵀ = K for Gram matrices of full rank and of rank 3 (rows that
// repeat and mix others), with a zero column for each dependent row, at sizes 1, 2, 3, 5 and 8.
func TestSemidefiniteCholesky(t *testing.T) {
	rng := kernels.NewRNG(7)
	for _, n := range []int{1, 2, 3, 5, 8} {
		for _, dependent := range []bool{false, true} {
			const D = 10
			x := make([]float64, n*D)
			for i := range x {
				x[i] = 2*float64(rng.Float32()) - 1
			}
			rank := n
			if dependent && n > 3 {
				for i := 3; i < n; i++ { // row i = row i-3 + 0.5·row i-2
					for k := 0; k < D; k++ {
						x[i*D+k] = x[(i-3)*D+k] + 0.5*x[(i-2)*D+k]
					}
				}
				rank = 3
			}
			K := make([]float64, n*n)
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					for k := 0; k < D; k++ {
						K[i*n+j] += x[i*D+k] * x[j*D+k]
					}
				}
			}
			L := semidefiniteCholesky(K, n)
			zero := 0
			for j := 0; j < n; j++ {
				if L[j*n+j] == 0 {
					zero++
				}
				for i := 0; i < j; i++ {
					if L[i*n+j] != 0 {
						t.Fatalf("n=%d: L[%d,%d] = %g above the diagonal", n, i, j, L[i*n+j])
					}
				}
			}
			var maxDiff float64
			for i := 0; i < n; i++ {
				for j := 0; j < n; j++ {
					var s float64
					for k := 0; k < n; k++ {
						s += L[i*n+k] * L[j*n+k]
					}
					maxDiff = math.Max(maxDiff, math.Abs(s-K[i*n+j]))
				}
			}
			if maxDiff > 1e-9 || zero != n-rank {
				t.Fatalf("n=%d dependent=%v: max |L·Lᵀ − K| = %.3g, %d zero columns, want %d", n, dependent, maxDiff, zero, n-rank)
			}
		}
	}
}
