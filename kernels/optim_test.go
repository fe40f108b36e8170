package kernels

import (
	"math"
	"testing"
)

// adamRef is Adam/AdamW written out in float64, one scalar at a time.
func adamRef(p, g, m, v float64, lr, b1, b2, eps, l2, wd float64, t int) (float64, float64, float64) {
	g += l2 * p
	m = b1*m + (1-b1)*g
	v = b2*v + (1-b2)*g*g
	mh := m / (1 - math.Pow(b1, float64(t)))
	vh := v / (1 - math.Pow(b2, float64(t)))
	return p - lr*mh/(math.Sqrt(vh)+eps) - lr*wd*p, m, v
}

func TestAdamStep(t *testing.T) {
	rng := NewRNG(30)
	n := 13
	for _, cfg := range [][2]float32{{0, 0}, {1e-2, 0}, {0, 0.1}} {
		l2, wd := cfg[0], cfg[1]
		p := randVec(&rng, n)
		m, v := make([]float32, n), make([]float32, n)
		ref := make([][3]float64, n)
		for i := range ref {
			ref[i][0] = float64(p[i])
		}
		for step := 1; step <= 5; step++ {
			g := randVec(&rng, n)
			AdamStep(p, g, m, v, 1e-2, 0.9, 0.999, 1e-7, l2, wd, step, n)
			for i := range ref {
				ref[i][0], ref[i][1], ref[i][2] = adamRef(ref[i][0], float64(g[i]), ref[i][1], ref[i][2], 1e-2, 0.9, 0.999, 1e-7, float64(l2), float64(wd), step)
			}
		}
		for i := range p {
			if math.Abs(float64(p[i])-ref[i][0]) > 1e-5 {
				t.Fatalf("l2=%v wd=%v: p[%d] = %v, want %v", l2, wd, i, p[i], ref[i][0])
			}
		}
	}
}

func TestSGDStep(t *testing.T) {
	// Quadratic ½‖p‖²: the gradient is p. Check one step by hand, then that both variants converge.
	p, g, vel := []float32{2}, []float32{2}, []float32{0}
	SGDStep(p, g, vel, 0.1, 0.9, 0, 0, false, 1)
	if p[0] != 1.8 || vel[0] != 2 {
		t.Fatalf("heavy ball step: p=%v vel=%v, want 1.8, 2", p[0], vel[0])
	}
	p, vel = []float32{2}, []float32{0}
	SGDStep(p, []float32{2}, vel, 0.1, 0.9, 0, 0, true, 1)
	if math.Abs(float64(p[0])-1.62) > 1e-6 {
		t.Fatalf("nesterov step: p=%v, want 1.62", p[0])
	}
	for _, nesterov := range []bool{false, true} {
		p, vel := []float32{3, -4}, []float32{0, 0}
		for i := 0; i < 200; i++ {
			SGDStep(p, []float32{p[0], p[1]}, vel, 0.05, 0.9, 0, 0, nesterov, 2)
		}
		if math.Abs(float64(p[0])) > 1e-3 || math.Abs(float64(p[1])) > 1e-3 {
			t.Fatalf("nesterov=%v did not converge: %v", nesterov, p)
		}
	}
	// Decoupled decay with a zero gradient shrinks by (1 − lr·wd).
	p = []float32{1}
	SGDStep(p, []float32{0}, []float32{0}, 0.1, 0, 0, 0.5, false, 1)
	if math.Abs(float64(p[0])-0.95) > 1e-7 {
		t.Fatalf("weight decay: p=%v, want 0.95", p[0])
	}
}

func TestClipGradNorm(t *testing.T) {
	g := []float32{3, 4}
	if n := ClipGradNorm(g, 1); n != 5 {
		t.Fatalf("norm %v, want 5", n)
	}
	if math.Abs(float64(g[0])-0.6) > 1e-7 || math.Abs(float64(g[1])-0.8) > 1e-7 {
		t.Fatalf("clipped %v, want [0.6 0.8]", g)
	}
	g = []float32{0.3, 0.4}
	ClipGradNorm(g, 1)
	if g[0] != 0.3 || g[1] != 0.4 {
		t.Fatalf("a gradient under the limit changed: %v", g)
	}
}
