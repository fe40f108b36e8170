package kernels

import (
	"math"
	"testing"
)

func TestReLU(t *testing.T) {
	rng := NewRNG(20)
	n := 37
	x, r := randVec(&rng, n), randVec(&rng, n)
	// Keep inputs away from the kink so central differences are valid.
	for i := range x {
		if math.Abs(float64(x[i])) < 0.05 {
			x[i] = 0.3
		}
	}
	out := make([]float32, n)
	ReLUForward(out, x, n)
	for i := range x {
		if want := float32(math.Max(float64(x[i]), 0)); out[i] != want {
			t.Fatalf("relu(%v) = %v", x[i], out[i])
		}
	}
	dx := make([]float32, n)
	ReLUBackward(dx, r, out, n)
	gradCheck(t, "relu", func() float64 { ReLUForward(out, x, n); return dotLoss(out, r) },
		[][]float32{x}, [][]float32{dx}, 1e-3, 1e-4, 1e-3)
}

func TestGELU(t *testing.T) {
	rng := NewRNG(21)
	n := 41
	x, r := randVec(&rng, n), randVec(&rng, n)
	for i := range x {
		x[i] *= 4
	}
	out := make([]float32, n)
	GELUForward(out, x, n)
	// Known values of the tanh form (TF.js gelu with approximate=true gives the same).
	one := make([]float32, 3)
	GELUForward(one, []float32{0, 1, -1}, 3)
	if one[0] != 0 || math.Abs(float64(one[1])-0.841192) > 1e-5 || math.Abs(float64(one[2])+0.158808) > 1e-5 {
		t.Fatalf("gelu(0,1,-1) = %v", one)
	}
	dx := make([]float32, n)
	GELUBackward(dx, r, x, n)
	gradCheck(t, "gelu", func() float64 { GELUForward(out, x, n); return dotLoss(out, r) },
		[][]float32{x}, [][]float32{dx}, 1e-2, 1e-4, 1e-2)
}

func TestDropout(t *testing.T) {
	n := 20000
	x := make([]float32, n)
	for i := range x {
		x[i] = 1
	}
	out, mask := make([]float32, n), make([]float32, n)
	rng := NewRNG(22)
	p := float32(0.3)
	DropoutForward(out, mask, x, p, &rng, n)
	var kept int
	var sum float64
	for i := range out {
		if mask[i] != 0 {
			kept++
			if mask[i] != 1/(1-p) {
				t.Fatalf("mask %v, want 0 or %v", mask[i], 1/(1-p))
			}
		}
		sum += float64(out[i])
	}
	if f := float64(kept) / float64(n); math.Abs(f-0.7) > 0.02 {
		t.Fatalf("kept fraction %v, want 0.7", f)
	}
	if m := sum / float64(n); math.Abs(m-1) > 0.03 {
		t.Fatalf("mean output %v, want 1 (inverted dropout keeps the expectation)", m)
	}
	// Same seed, same mask.
	rng2 := NewRNG(22)
	mask2 := make([]float32, n)
	DropoutForward(make([]float32, n), mask2, x, p, &rng2, n)
	assertClose(t, "mask replay", mask2, mask, 0, 0)
	// Backward is the mask applied to the upstream gradient; with a fixed mask the layer is linear.
	rr := NewRNG(23)
	xs, r := randVec(&rr, 50), randVec(&rr, 50)
	o, m := make([]float32, 50), make([]float32, 50)
	DropoutForward(o, m, xs, 0.5, &rr, 50)
	dx := make([]float32, 50)
	DropoutBackward(dx, r, m, 50)
	loss := func() float64 {
		for i := range o {
			o[i] = xs[i] * m[i]
		}
		return dotLoss(o, r)
	}
	gradCheck(t, "dropout", loss, [][]float32{xs}, [][]float32{dx}, 1e-2, 1e-4, 1e-3)
}

func TestRNGStreamIsFixed(t *testing.T) {
	// The first values of SplitMix64 from seed 0 (its published test vector); a change here
	// would silently change every seeded run.
	r := NewRNG(0)
	want := []uint64{0xe220a8397b1dcdaf, 0x6e789e6aa1b965f4, 0x06c45d188009454f}
	for i, w := range want {
		if g := r.Uint64(); g != w {
			t.Fatalf("value %d = %#x, want %#x", i, g, w)
		}
	}
	counts := make([]int, 7)
	for i := 0; i < 70000; i++ {
		counts[r.Intn(7)]++
	}
	for k, c := range counts {
		if c < 9500 || c > 10500 {
			t.Fatalf("Intn(7) bucket %d has %d of 70000", k, c)
		}
	}
}
