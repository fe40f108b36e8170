package kernels

import (
	"math"
	"testing"
)

// xentRef is the textbook float64 definition: softmax, then −Σ q log p, weighted mean.
func xentRef(logits []float32, targets []int32, cw []float32, eps float64, N, C int) float64 {
	var total, wsum float64
	for n := 0; n < N; n++ {
		var s float64
		for c := 0; c < C; c++ {
			s += math.Exp(float64(logits[n*C+c]))
		}
		var l float64
		for c := 0; c < C; c++ {
			q := eps / float64(C)
			if c == int(targets[n]) {
				q += 1 - eps
			}
			l -= q * math.Log(math.Exp(float64(logits[n*C+c]))/s)
		}
		w := 1.0
		if cw != nil {
			w = float64(cw[targets[n]])
		}
		total += w * l
		wsum += w
	}
	return total / wsum
}

func TestSoftmaxCrossEntropy(t *testing.T) {
	rng := NewRNG(10)
	for _, tc := range []struct {
		N, C     int
		eps      float32
		weighted bool
	}{{1, 2, 0, false}, {3, 5, 0.1, false}, {7, 10, 0, true}, {16, 3, 0.2, true}, {5, 1, 0, false}} {
		N, C := tc.N, tc.C
		logits := randVec(&rng, N*C)
		for i := range logits {
			logits[i] *= 4
		}
		targets := make([]int32, N)
		for i := range targets {
			targets[i] = int32(rng.Intn(C))
		}
		var cw []float32
		if tc.weighted {
			cw = make([]float32, C)
			for i := range cw {
				cw[i] = 0.5 + rng.Float32()
			}
		}
		probs := make([]float32, N*C)
		got := SoftmaxCrossEntropyForward(probs, logits, targets, cw, tc.eps, N, C)
		want := xentRef(logits, targets, cw, float64(tc.eps), N, C)
		if math.Abs(got-want) > 1e-5*(1+math.Abs(want)) {
			t.Fatalf("N=%d C=%d eps=%v: loss %v, want %v", N, C, tc.eps, got, want)
		}
		for n := 0; n < N; n++ {
			var s float64
			for c := 0; c < C; c++ {
				s += float64(probs[n*C+c])
			}
			if math.Abs(s-1) > 1e-5 {
				t.Fatalf("row %d of probs sums to %v", n, s)
			}
		}
		dlogits := make([]float32, N*C)
		SoftmaxCrossEntropyBackward(dlogits, probs, targets, cw, tc.eps, N, C)
		loss := func() float64 {
			return SoftmaxCrossEntropyForward(probs, logits, targets, cw, tc.eps, N, C)
		}
		gradCheck(t, "softmax-xent", loss, [][]float32{logits}, [][]float32{dlogits}, 1e-2, 1e-4, 1e-2)
		// Restore probs for the next case's independence.
		SoftmaxCrossEntropyForward(probs, logits, targets, cw, tc.eps, N, C)
	}
}

// TestSoftmaxCrossEntropyStable feeds logits that overflow exp in float32 and float64.
func TestSoftmaxCrossEntropyStable(t *testing.T) {
	logits := []float32{1000, -1000, 0, 3e38, 3e38, -3e38}
	probs := make([]float32, 6)
	loss := SoftmaxCrossEntropyForward(probs, logits, []int32{1, 0}, nil, 0, 2, 3)
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		t.Fatalf("loss %v on extreme logits", loss)
	}
	// Row 0: target logit −1000 against 1000: loss 2000 exactly (to float rounding).
	// Row 1: two equal huge logits: loss log 2.
	want := (2000 + math.Ln2) / 2
	if math.Abs(loss-want) > 1e-3 {
		t.Fatalf("loss %v, want %v", loss, want)
	}
	for _, p := range probs {
		if math.IsNaN(float64(p)) {
			t.Fatalf("NaN probability: %v", probs)
		}
	}
}

func TestSoftmaxMatchesForward(t *testing.T) {
	rng := NewRNG(11)
	logits := randVec(&rng, 4*6)
	a, b := make([]float32, 24), make([]float32, 24)
	Softmax(a, logits, 4, 6)
	SoftmaxCrossEntropyForward(b, logits, []int32{0, 1, 2, 3}, nil, 0, 4, 6)
	assertClose(t, "softmax", a, b, 0, 0)
}
