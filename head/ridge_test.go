package head

import (
	"context"
	"math"
	"testing"
	"time"

	"gonum.org/v1/gonum/mat"

	"finetuner/kernels"
)

// ridgeSet is a synthetic problem: C classes with means apart in D dimensions, plus noise.
func ridgeSet(n, D, C int, seed uint64) *Dataset {
	rng := kernels.NewRNG(seed)
	centres := make([]float32, C*D)
	for i := range centres {
		centres[i] = 2*rng.Float32() - 1
	}
	ds := &Dataset{N: n, D: D, X: make([]float32, n*D), Y: make([]int32, n)}
	for c := 0; c < C; c++ {
		ds.Labels = append(ds.Labels, string(rune('a'+c)))
	}
	for i := 0; i < n; i++ {
		c := i % C
		ds.Y[i] = int32(c)
		for k := 0; k < D; k++ {
			ds.X[i*D+k] = 3 + centres[c*D+k] + 1.5*(2*rng.Float32()-1)
		}
	}
	return ds
}

// TestRidgeMatchesPrimal: the closed-form head solved in the rows' span equals the ridge solution
// solved over the features, W = (Xcᵀ·Xc + λI)⁻¹·Xcᵀ·Yc in float64 by gonum, at the strength and
// temperature it chose, with the bias that undoes the centring; standardised (rows' span from
// reduce, rows centred already) and raw (centred inside, more rows than half the features).
func TestRidgeMatchesPrimal(t *testing.T) {
	for _, tc := range []struct {
		name       string
		n, D       int
		standardze bool
	}{{"standardised", 60, 150, true}, {"raw", 90, 40, false}} {
		t.Run(tc.name, func(t *testing.T) {
			const C = 3
			ds := ridgeSet(tc.n, tc.D, C, 3)
			cfg := Config{ValFraction: 0.25, Seed: 2, NoStandardize: !tc.standardze, Optimizer: "adam", Schedule: "constant", Epochs: 1}
			tr, _, err := prepare(ds, cfg)
			if err != nil {
				t.Fatal(err)
			}
			p := newProbe(tr, context.Background(), nil, nil, time.Now())
			if (p.gram != nil) != tc.standardze {
				t.Fatalf("reduce ran: %v, want %v", p.gram != nil, tc.standardze)
			}
			r := p.ridge()
			if r == nil {
				t.Fatal("no closed-form head")
			}
			n, D := len(tr.ytr), tr.m.D
			xc := mat.NewDense(n, D, nil)
			mu := make([]float64, D)
			for i := 0; i < n; i++ {
				for k := 0; k < D; k++ {
					mu[k] += float64(tr.xtr[i*D+k]) / float64(n)
				}
			}
			for i := 0; i < n; i++ {
				for k := 0; k < D; k++ {
					xc.Set(i, k, float64(tr.xtr[i*D+k])-mu[k])
				}
			}
			prior := make([]float64, C)
			for _, y := range tr.ytr {
				prior[y] += 1 / float64(n)
			}
			yc := mat.NewDense(n, C, nil)
			for i, y := range tr.ytr {
				for c := 0; c < C; c++ {
					yc.Set(i, c, -prior[c])
				}
				yc.Set(i, int(y), 1-prior[y])
			}
			var a, rhs, w mat.Dense
			a.Mul(xc.T(), xc)
			for k := 0; k < D; k++ {
				a.Set(k, k, a.At(k, k)+r.ridge)
			}
			rhs.Mul(xc.T(), yc)
			if err := w.Solve(&a, &rhs); err != nil {
				t.Fatal(err)
			}
			var maxW, maxDiff float64
			got := r.head.Params
			for c := 0; c < C; c++ {
				bias := prior[c]
				for k := 0; k < D; k++ {
					want := r.temp * w.At(k, c)
					maxW = math.Max(maxW, math.Abs(want))
					maxDiff = math.Max(maxDiff, math.Abs(float64(got[c*D+k])-want))
					bias -= mu[k] * w.At(k, c)
				}
				if d := math.Abs(float64(got[C*D+c]) - r.temp*bias); d > 1e-3*math.Max(1, math.Abs(r.temp*bias)) {
					t.Errorf("bias %d: %g, want %g", c, got[C*D+c], r.temp*bias)
				}
			}
			if maxDiff > 1e-3*maxW {
				t.Errorf("weights differ from the primal ridge solution by %g (largest weight %g)", maxDiff, maxW)
			}
			if r.acc < 0.9 || r.temp <= 0 {
				t.Errorf("validation accuracy %.2f, temperature %g: the classes are well apart", r.acc, r.temp)
			}
		})
	}
}

// TestFitTemperature: the temperature minimises the mean cross-entropy, checked against a fine
// grid of log-spaced temperatures; with scores that separate every row it grows until the loss
// is negligible.
func TestFitTemperature(t *testing.T) {
	const n, C = 50, 4
	rng := kernels.NewRNG(5)
	z, y := make([]float64, n*C), make([]int32, n)
	for i := range y {
		y[i] = int32(i % C)
		for c := 0; c < C; c++ {
			z[i*C+c] = 0.3 * float64(2*rng.Float32()-1)
		}
		z[i*C+int(y[i])] += 0.2 // mostly right, not always
	}
	ce := func(s float64) float64 {
		var sum float64
		for i, yi := range y {
			row := z[i*C : i*C+C]
			m := math.Inf(-1)
			for _, v := range row {
				m = math.Max(m, s*v)
			}
			var se float64
			for _, v := range row {
				se += math.Exp(s*v - m)
			}
			sum += math.Log(se) + m - s*row[yi]
		}
		return sum / float64(n)
	}
	s := fitTemperature(z, y, C)
	best := math.Inf(1)
	for e := -3.0; e <= 3; e += 0.001 {
		best = math.Min(best, ce(math.Pow(10, e)))
	}
	if ce(s) > best+1e-9 {
		t.Fatalf("temperature %g: loss %.9f, a grid point has %.9f", s, ce(s), best)
	}
	for i, yi := range y { // now every row is right by a margin
		z[i*C+int(yi)] += 10
	}
	if s := fitTemperature(z, y, C); ce(s) > 1e-9 || ce(s) >= ce(1) {
		t.Fatalf("separable scores: temperature %g leaves a loss of %g (%g at 1)", s, ce(s), ce(1))
	}
}
