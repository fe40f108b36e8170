package kernels

import (
	"math/rand/v2"
	"testing"
)

func TestMeanHW(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, sz := range []struct{ H, W, C int }{{1, 1, 1}, {7, 7, 5}, {3, 2, 9}} {
		x := cvRand(r, sz.H*sz.W*sz.C)
		got, check := cvGuarded(t, sz.C)
		MeanHW(got, x, sz.H, sz.W, sz.C)
		check()
		want := make([]float32, sz.C)
		for c := range want {
			var s float64
			for p := 0; p < sz.H*sz.W; p++ {
				s += float64(x[p*sz.C+c])
			}
			want[c] = float32(s / float64(sz.H*sz.W))
		}
		cvClose(t, "MeanHW", got, want, 1e-6)
	}
}

func TestAvgPool2D(t *testing.T) {
	// A 3×3 SAME pool at a corner averages the 4 taps inside the image, not 9.
	x := []float32{1, 2, 3, 4, 5, 6, 7, 8, 9}
	out := make([]float32, 9)
	AvgPool2D(out, x, 3, 3, 1, 3, 3, 1, 1, 1, 3, 3)
	if out[0] != (1+2+4+5)/4.0 || out[4] != 5 {
		t.Fatalf("SAME: got %v", out)
	}
	// 7×7 VALID over a 7×7 map is the global mean.
	r := rand.New(rand.NewPCG(15, 16))
	y := cvRand(r, 7*7*6)
	got, check := cvGuarded(t, 6)
	AvgPool2D(got, y, 7, 7, 6, 7, 7, 1, 0, 0, 1, 1)
	check()
	want := make([]float32, 6)
	MeanHW(want, y, 7, 7, 6)
	cvClose(t, "AvgPool2D VALID", got, want, 1e-6)
}
