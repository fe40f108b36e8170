package tune

import (
	"math"
	"testing"

	"finetuner/kernels"
)

func TestDSSIM(t *testing.T) {
	const H, W, C = 11, 9, 3
	rng := kernels.NewRNG(5)
	x, y := make([]float32, H*W*C), make([]float32, H*W*C)
	for i := range x {
		y[i] = rng.Float32()
		x[i] = min(1, max(0, y[i]+0.1*(rng.Float32()-0.5)))
	}
	d := NewDSSIM(H, W, C)
	if v := d.Eval(nil, y, y); math.Abs(v) > 1e-6 {
		t.Fatalf("DSSIM(y, y) = %v, want 0", v)
	}
	g := make([]float32, len(x))
	v := d.Eval(g, x, y)
	if !(v > 0 && v < 0.5) {
		t.Fatalf("DSSIM = %v", v)
	}
	// Central differences on every 7th pixel.
	worst := 0.0
	for i := 0; i < len(x); i += 7 {
		o := x[i]
		x[i] = o + 1e-3
		lp := d.Eval(nil, x, y)
		x[i] = o - 1e-3
		lm := d.Eval(nil, x, y)
		x[i] = o
		num := (lp - lm) / float64((o+1e-3)-(o-1e-3))
		diff := math.Abs(num - float64(g[i]))
		worst = max(worst, diff)
		if diff > 1e-4+0.03*math.Abs(num) {
			t.Fatalf("pixel %d: analytic %g numeric %g", i, g[i], num)
		}
	}
	t.Logf("DSSIM %.4f, max |analytic − numeric| = %.3g", v, worst)
}
