package kernels

import (
	"fmt"
	"testing"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
)

// Sizes that hit every remainder of the blocking: rows in pairs (and 4 for dW), outputs in threes
// (and 2, 4), k in pairs; plus a head-sized case.
var linearSizes = [][3]int{
	{1, 1, 1}, {1, 2, 1}, {2, 1, 1}, {2, 3, 3}, {3, 5, 2}, {4, 4, 4}, {5, 7, 5}, {6, 3, 7},
	{7, 9, 10}, {9, 16, 11}, {16, 33, 3}, {17, 64, 13}, {32, 1280, 10}, {33, 127, 100},
}

func TestLinearForwardMatchesNaive(t *testing.T) {
	rng := NewRNG(1)
	for _, sz := range linearSizes {
		N, D, C := sz[0], sz[1], sz[2]
		for _, withBias := range []bool{true, false} {
			x, w := randVec(&rng, N*D), randVec(&rng, C*D)
			var b []float32
			if withBias {
				b = randVec(&rng, C)
			}
			out := newGuarded(make([]float32, N*C))
			want := make([]float32, N*C)
			LinearForward(out.data(), x, w, b, N, D, C)
			linearForwardNaive(want, x, w, b, N, D, C)
			name := fmt.Sprintf("N=%d D=%d C=%d bias=%v", N, D, C, withBias)
			out.check(t, name)
			assertClose(t, name, out.data(), want, 1e-5, 1e-4)
		}
	}
}

// TestLinearForwardGonum checks the kernel against gonum's float64 GEMM on a head-sized problem.
func TestLinearForwardGonum(t *testing.T) {
	rng := NewRNG(2)
	N, D, C := 37, 480, 13
	x, w, b := randVec(&rng, N*D), randVec(&rng, C*D), randVec(&rng, C)
	out := make([]float32, N*C)
	LinearForward(out, x, w, b, N, D, C)
	x64, w64 := make([]float64, len(x)), make([]float64, len(w))
	for i, v := range x {
		x64[i] = float64(v)
	}
	for i, v := range w {
		w64[i] = float64(v)
	}
	ref := blas64.General{Rows: N, Cols: C, Stride: C, Data: make([]float64, N*C)}
	blas64.Gemm(blas.NoTrans, blas.Trans, 1,
		blas64.General{Rows: N, Cols: D, Stride: D, Data: x64},
		blas64.General{Rows: C, Cols: D, Stride: D, Data: w64}, 0, ref)
	want := make([]float32, N*C)
	for n := 0; n < N; n++ {
		for c := 0; c < C; c++ {
			want[n*C+c] = float32(ref.Data[n*C+c]) + b[c]
		}
	}
	w_, i := maxDiff(out, want, 1e-5, 1e-4)
	t.Logf("max scaled difference to gonum float64 GEMM: %.3g at %d", w_, i)
	assertClose(t, "gonum", out, want, 1e-5, 1e-4)
}

func TestLinearBackwardMatchesNaive(t *testing.T) {
	rng := NewRNG(3)
	for _, sz := range linearSizes {
		N, D, C := sz[0], sz[1], sz[2]
		x, w, dout := randVec(&rng, N*D), randVec(&rng, C*D), randVec(&rng, N*C)
		// Gradients start non-zero: backward must accumulate, not overwrite.
		dx0, dw0, db0 := randVec(&rng, N*D), randVec(&rng, C*D), randVec(&rng, C)
		dx, dw, db := newGuarded(dx0), newGuarded(dw0), newGuarded(db0)
		wantDx, wantDw, wantDb := append([]float32(nil), dx0...), append([]float32(nil), dw0...), append([]float32(nil), db0...)
		LinearBackward(dx.data(), dw.data(), db.data(), dout, x, w, N, D, C)
		linearBackwardNaive(wantDx, wantDw, wantDb, dout, x, w, N, D, C)
		name := fmt.Sprintf("N=%d D=%d C=%d", N, D, C)
		dx.check(t, name+" dx")
		dw.check(t, name+" dw")
		db.check(t, name+" db")
		assertClose(t, name+" dx", dx.data(), wantDx, 1e-5, 1e-4)
		assertClose(t, name+" dw", dw.data(), wantDw, 1e-5, 1e-4)
		assertClose(t, name+" db", db.data(), wantDb, 1e-5, 1e-4)

		// dx and db may be skipped.
		dw2 := append([]float32(nil), dw0...)
		LinearBackward(nil, dw2, nil, dout, x, w, N, D, C)
		assertClose(t, name+" dw (dx=nil)", dw2, wantDw, 1e-5, 1e-4)
	}
}

func TestLinearGradCheck(t *testing.T) {
	rng := NewRNG(4)
	N, D, C := 5, 7, 4
	x, w, b, r := randVec(&rng, N*D), randVec(&rng, C*D), randVec(&rng, C), randVec(&rng, N*C)
	out := make([]float32, N*C)
	dx, dw, db := make([]float32, N*D), make([]float32, C*D), make([]float32, C)
	LinearBackward(dx, dw, db, r, x, w, N, D, C)
	loss := func() float64 {
		LinearForward(out, x, w, b, N, D, C)
		return dotLoss(out, r)
	}
	gradCheck(t, "linear", loss, [][]float32{x, w, b}, [][]float32{dx, dw, db}, 1e-2, 1e-3, 1e-2)
}

func TestLinearPanics(t *testing.T) {
	for name, f := range map[string]func(){
		"short x":   func() { LinearForward(make([]float32, 4), make([]float32, 3), make([]float32, 4), nil, 2, 2, 2) },
		"short out": func() { LinearForward(make([]float32, 3), make([]float32, 4), make([]float32, 4), nil, 2, 2, 2) },
		"negative":  func() { LinearForward(nil, nil, nil, nil, -1, 2, 2) },
		"short dw": func() {
			LinearBackward(nil, make([]float32, 3), nil, make([]float32, 4), make([]float32, 4), make([]float32, 4), 2, 2, 2)
		},
	} {
		func() {
			defer func() {
				r := recover()
				if s, ok := r.(string); !ok || len(s) < 9 || s[:9] != "kernels: " {
					t.Errorf("%s: panic %v, want a \"kernels: ...\" message", name, r)
				}
			}()
			f()
		}()
	}
}

func TestLinearNoAllocs(t *testing.T) {
	rng := NewRNG(5)
	N, D, C := 32, 100, 10
	x, w, b, dout := randVec(&rng, N*D), randVec(&rng, C*D), randVec(&rng, C), randVec(&rng, N*C)
	out, dx, dw, db := make([]float32, N*C), make([]float32, N*D), make([]float32, C*D), make([]float32, C)
	if a := testing.AllocsPerRun(10, func() {
		LinearForward(out, x, w, b, N, D, C)
		LinearBackward(dx, dw, db, dout, x, w, N, D, C)
	}); a != 0 {
		t.Fatalf("linear kernels allocate %v times per call", a)
	}
}

// TestLinearRowIndependent: a row's output has the same bits whether it is computed alone, as the
// odd last row of a batch, or inside a pair (predictions must not depend on batching).
func TestLinearRowIndependent(t *testing.T) {
	rng := NewRNG(6)
	for _, D := range []int{1, 2, 7, 480} {
		N, C := 5, 7
		x, w, b := randVec(&rng, N*D), randVec(&rng, C*D), randVec(&rng, C)
		all := make([]float32, N*C)
		LinearForward(all, x, w, b, N, D, C)
		for n := 0; n < N; n++ {
			one := make([]float32, C)
			LinearForward(one, x[n*D:(n+1)*D], w, b, 1, D, C)
			assertClose(t, fmt.Sprintf("D=%d row %d", D, n), one, all[n*C:(n+1)*C], 0, 0)
		}
	}
}
