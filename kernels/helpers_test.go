package kernels

import (
	"math"
	"testing"
)

// randVec returns n values uniform in [-1, 1) from a fixed seed.
func randVec(rng *RNG, n int) []float32 {
	v := make([]float32, n)
	for i := range v {
		v[i] = 2*rng.Float32() - 1
	}
	return v
}

// guarded returns a slice of n values with guard cells on both sides; check() reports any stray
// write into the guards (gonum's trick for catching out-of-bounds stores in unsafe code).
const guardVal = float32(-12345.678)

type guardedVec struct {
	buf []float32
	n   int
}

func newGuarded(vals []float32) guardedVec {
	const pad = 8
	buf := make([]float32, len(vals)+2*pad)
	for i := range buf {
		buf[i] = guardVal
	}
	copy(buf[pad:], vals)
	return guardedVec{buf, len(vals)}
}

func (g guardedVec) data() []float32 { return g.buf[8 : 8+g.n : 8+g.n] }

func (g guardedVec) check(t *testing.T, name string) {
	t.Helper()
	for i, v := range g.buf {
		if (i < 8 || i >= 8+g.n) && v != guardVal {
			t.Fatalf("%s: guard cell %d overwritten with %v", name, i, v)
		}
	}
}

// maxDiff returns the largest |a-b| / (atol + rtol·|b|) over the pair; ≤ 1 means within tolerance.
func maxDiff(a, b []float32, atol, rtol float64) (worst float64, at int) {
	if len(a) != len(b) {
		panic("maxDiff: length mismatch")
	}
	at = -1
	for i := range a {
		if a[i] == b[i] {
			continue
		}
		d := math.Abs(float64(a[i])-float64(b[i])) / (atol + rtol*math.Abs(float64(b[i])))
		if math.IsNaN(d) {
			return math.Inf(1), i
		}
		if d > worst {
			worst, at = d, i
		}
	}
	return worst, at
}

func assertClose(t *testing.T, name string, got, want []float32, atol, rtol float64) {
	t.Helper()
	if w, i := maxDiff(got, want, atol, rtol); w > 1 {
		t.Fatalf("%s: element %d = %v, want %v (%.2f× tolerance atol=%g rtol=%g)", name, i, got[i], want[i], w, atol, rtol)
	}
}

// gradCheck is the one finite-difference gradient check every backward kernel goes through.
// loss() runs the forward kernels on the current parameters and returns a scalar (float64);
// for each (param, grad) pair it compares grad[i] with the central difference
// (loss(p+h) − loss(p−h)) / 2h at up to maxProbe positions, with mixed tolerance atol + rtol·|g|.
// It prints the largest difference it saw, as llm.c's test does.
func gradCheck(t *testing.T, name string, loss func() float64, params, grads [][]float32, h, atol, rtol float64) {
	t.Helper()
	const maxProbe = 40
	worst := 0.0
	for pi, p := range params {
		g := grads[pi]
		stride := 1
		if len(p) > maxProbe {
			stride = len(p) / maxProbe
		}
		for i := 0; i < len(p); i += stride {
			orig := p[i]
			p[i] = orig + float32(h)
			lp := loss()
			p[i] = orig - float32(h)
			lm := loss()
			p[i] = orig
			// The actual step is the float32 difference, not h.
			step := float64(orig+float32(h)) - float64(orig-float32(h))
			num := (lp - lm) / step
			d := math.Abs(num - float64(g[i]))
			if d > worst {
				worst = d
			}
			if d > atol+rtol*math.Abs(num) {
				t.Fatalf("%s: param %d[%d]: analytic %.6g, numeric %.6g (diff %.3g)", name, pi, i, g[i], num, d)
			}
		}
	}
	t.Logf("%s: max |analytic − numeric| = %.3g", name, worst)
}

// dotLoss returns Σ out·r in float64: a random linear functional whose gradient is r.
func dotLoss(out, r []float32) float64 {
	var s float64
	for i := range out {
		s += float64(out[i]) * float64(r[i])
	}
	return s
}
