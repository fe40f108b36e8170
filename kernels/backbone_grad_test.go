package kernels

import (
	"fmt"
	"math/rand/v2"
	"testing"
)

// The backward kernels of the backbone's ops (fine-tuning the last blocks, and the attack's
// gradient with respect to the image): each against its naive reference at sizes that hit every
// remainder, with guard cells, accumulating onto non-zero gradients; then a finite-difference
// check of the forward/backward pair through gradCheck.

type convCase struct{ H, W, C, OC, K, stride int }

var convGradCases = []convCase{
	{1, 1, 1, 1, 1, 1}, {3, 2, 5, 3, 1, 1}, {7, 7, 9, 6, 1, 1}, {4, 5, 3, 7, 3, 2}, {6, 6, 3, 4, 3, 2},
	{5, 5, 2, 3, 3, 1}, {7, 7, 4, 5, 5, 2}, {2, 3, 3, 2, 1, 2},
}

// guardedCopy returns a guarded copy of v (so the kernel accumulates onto real values) and its check.
func guardedCopy(t *testing.T, v []float32) ([]float32, func()) {
	g, check := cvGuarded(t, len(v))
	copy(g, v)
	return g, check
}

func TestConv2DBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, cs := range convGradCases {
		OH, pt := SamePadding(cs.H, cs.K, cs.stride)
		OW, pl := SamePadding(cs.W, cs.K, cs.stride)
		K := cs.K * cs.K * cs.C
		x, w, dout := cvRand(r, cs.H*cs.W*cs.C), cvRand(r, cs.OC*K), cvRand(r, OH*OW*cs.OC)
		dx0, dw0, db0 := cvRand(r, len(x)), cvRand(r, len(w)), cvRand(r, cs.OC)
		dx, cx := guardedCopy(t, dx0)
		dw, cw := guardedCopy(t, dw0)
		db, cb := guardedCopy(t, db0)
		col, dcol := make([]float32, OH*OW*K), make([]float32, OH*OW*K)
		Conv2DBackward(dx, dw, db, dout, x, w, col, dcol, cs.H, cs.W, cs.C, cs.OC, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		cx()
		cw()
		cb()
		wdx, wdw, wdb := append([]float32(nil), dx0...), append([]float32(nil), dw0...), append([]float32(nil), db0...)
		conv2DBackwardNaive(wdx, wdw, wdb, dout, x, w, cs.H, cs.W, cs.C, cs.OC, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		name := fmt.Sprintf("%+v", cs)
		cvClose(t, name+" dx", dx, wdx, 1e-5)
		cvClose(t, name+" dw", dw, wdw, 1e-5)
		cvClose(t, name+" db", db, wdb, 1e-5)
		// With dx nil the weight gradients are the same.
		dw2, db2 := append([]float32(nil), dw0...), append([]float32(nil), db0...)
		Conv2DBackward(nil, dw2, db2, dout, x, w, col, nil, cs.H, cs.W, cs.C, cs.OC, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		cvClose(t, name+" dw (dx nil)", dw2, wdw, 1e-5)
	}
}

func TestConv2DGradCheck(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, cs := range convGradCases {
		OH, pt := SamePadding(cs.H, cs.K, cs.stride)
		OW, pl := SamePadding(cs.W, cs.K, cs.stride)
		K := cs.K * cs.K * cs.C
		x, w, b := cvRand(r, cs.H*cs.W*cs.C), cvRand(r, cs.OC*K), cvRand(r, cs.OC)
		out, rr := make([]float32, OH*OW*cs.OC), cvRand(r, OH*OW*cs.OC)
		col, dcol := make([]float32, OH*OW*K), make([]float32, OH*OW*K)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, len(b))
		Conv2DBackward(dx, dw, db, rr, x, w, col, dcol, cs.H, cs.W, cs.C, cs.OC, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		loss := func() float64 {
			Conv2D(out, x, w, b, col, cs.H, cs.W, cs.C, cs.OC, cs.K, cs.K, cs.stride, pt, pl, OH, OW, FusedNone)
			return dotLoss(out, rr)
		}
		gradCheck(t, fmt.Sprintf("conv %+v", cs), loss, [][]float32{x, w, b}, [][]float32{dx, dw, db}, 1e-2, 1e-3, 1e-2)
	}
}

func TestDepthwiseConv2DBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, K := range []int{3, 5} {
		for _, stride := range []int{1, 2} {
			for _, sz := range []struct{ H, W, C int }{{1, 1, 1}, {2, 3, 3}, {7, 7, 5}, {8, 6, 8}, {9, 9, 17}} {
				OH, pt := SamePadding(sz.H, K, stride)
				OW, pl := SamePadding(sz.W, K, stride)
				x, w, dout := cvRand(r, sz.H*sz.W*sz.C), cvRand(r, K*K*sz.C), cvRand(r, OH*OW*sz.C)
				dx0, dw0, db0 := cvRand(r, len(x)), cvRand(r, len(w)), cvRand(r, sz.C)
				dx, cx := guardedCopy(t, dx0)
				dw, cw := guardedCopy(t, dw0)
				db, cb := guardedCopy(t, db0)
				DepthwiseConv2DBackward(dx, dw, db, dout, x, w, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW)
				cx()
				cw()
				cb()
				depthwiseConv2DBackwardNaive(dx0, dw0, db0, dout, x, w, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW)
				name := fmt.Sprintf("K=%d s=%d %+v", K, stride, sz)
				cvClose(t, name+" dx", dx, dx0, 1e-5)
				cvClose(t, name+" dw", dw, dw0, 1e-5)
				cvClose(t, name+" db", db, db0, 1e-5)

				// Finite differences on a fresh forward/backward pair.
				b := cvRand(r, sz.C)
				out, rr := make([]float32, OH*OW*sz.C), cvRand(r, OH*OW*sz.C)
				gx, gw, gb := make([]float32, len(x)), make([]float32, len(w)), make([]float32, sz.C)
				DepthwiseConv2DBackward(gx, gw, gb, rr, x, w, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW)
				loss := func() float64 {
					DepthwiseConv2D(out, x, w, b, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW, FusedNone)
					return dotLoss(out, rr)
				}
				gradCheck(t, "depthwise "+name, loss, [][]float32{x, w, b}, [][]float32{gx, gw, gb}, 1e-2, 1e-3, 1e-2)
			}
		}
	}
}

// awayFromKinks moves values within 0.05 of an activation's kinks (0 and 6 for ReLU6, -shift
// and 6-shift for hard-swish) off them, so central differences do not straddle a kink.
func awayFromKinks(x []float32, kinks ...float32) {
	for i, v := range x {
		for _, k := range kinks {
			if v > k-0.05 && v < k+0.05 {
				x[i] = k + 0.1
			}
		}
	}
}

func TestActBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, n := range []int{1, 3, 17} {
		x := cvRand(r, n)
		for i := range x {
			x[i] *= 8 // cover both clamps of ReLU6
		}
		awayFromKinks(x, 0, 6)
		for _, act := range []FusedAct{FusedNone, FusedRelu, FusedRelu6} {
			y, rr := make([]float32, n), cvRand(r, n)
			copy(y, x)
			actApply(y, act)
			dx, check := cvGuarded(t, n)
			clear(dx)
			ActBackward(dx, rr, y, act)
			check()
			loss := func() float64 {
				copy(y, x)
				actApply(y, act)
				return dotLoss(y, rr)
			}
			gradCheck(t, fmt.Sprintf("%v n=%d", act, n), loss, [][]float32{x}, [][]float32{dx}, 1e-3, 1e-3, 1e-2)
		}
	}
}

func TestHardSwishScaledBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	const k, shift = 0.16662598, 3 // the float16-rounded 1/6 centernet's graph stores
	for _, n := range []int{1, 5, 33} {
		x := cvRand(r, n)
		for i := range x {
			x[i] *= 5
		}
		awayFromKinks(x, -shift, 6-shift)
		y, rr := make([]float32, n), cvRand(r, n)
		dx, check := cvGuarded(t, n)
		clear(dx)
		HardSwishScaledBackward(dx, rr, x, k, shift)
		check()
		loss := func() float64 {
			HardSwishScaled(y, x, k, shift)
			return dotLoss(y, rr)
		}
		gradCheck(t, fmt.Sprintf("hard-swish n=%d", n), loss, [][]float32{x}, [][]float32{dx}, 1e-3, 1e-3, 1e-2)
	}
}

func TestPoolBackward(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, sz := range []struct{ H, W, C int }{{1, 1, 1}, {7, 7, 5}, {3, 2, 9}} {
		x, rr := cvRand(r, sz.H*sz.W*sz.C), cvRand(r, sz.C)
		out := make([]float32, sz.C)
		dx, check := cvGuarded(t, len(x))
		clear(dx)
		MeanHWBackward(dx, rr, sz.H, sz.W, sz.C)
		check()
		gradCheck(t, fmt.Sprintf("MeanHW %+v", sz), func() float64 { MeanHW(out, x, sz.H, sz.W, sz.C); return dotLoss(out, rr) },
			[][]float32{x}, [][]float32{dx}, 1e-2, 1e-4, 1e-2)
	}
	for _, p := range []struct{ H, W, C, K, stride int }{{7, 7, 3, 7, 1}, {5, 4, 2, 3, 1}, {6, 7, 3, 3, 2}} {
		OH, pt := SamePadding(p.H, p.K, p.stride)
		OW, pl := SamePadding(p.W, p.K, p.stride)
		x, rr := cvRand(r, p.H*p.W*p.C), cvRand(r, OH*OW*p.C)
		out := make([]float32, OH*OW*p.C)
		dx, check := cvGuarded(t, len(x))
		clear(dx)
		AvgPool2DBackward(dx, rr, p.H, p.W, p.C, p.K, p.K, p.stride, pt, pl, OH, OW)
		check()
		gradCheck(t, fmt.Sprintf("AvgPool2D %+v", p), func() float64 {
			AvgPool2D(out, x, p.H, p.W, p.C, p.K, p.K, p.stride, pt, pl, OH, OW)
			return dotLoss(out, rr)
		}, [][]float32{x}, [][]float32{dx}, 1e-2, 1e-4, 1e-2)
	}
}

// BenchmarkConvBackward times the backward of the 1×1 convolutions and the depthwise
// convolution of centernet's last block (7×7, 120→720→120 channels, 5×5 depthwise), the layers
// fine-tuning runs on.
func BenchmarkConvBackward(b *testing.B) {
	r := rand.New(rand.NewPCG(33, 34))
	const H, C, E = 7, 120, 720
	x, w, dout := cvRand(r, H*H*C), cvRand(r, E*C), cvRand(r, H*H*E)
	dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, E)
	flops := float64(2 * 2 * H * H * C * E)
	b.Run("conv1x1/fast", func(b *testing.B) {
		for b.Loop() {
			Conv2DBackward(dx, dw, db, dout, x, w, nil, nil, H, H, C, E, 1, 1, 1, 0, 0, H, H)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("conv1x1/naive", func(b *testing.B) {
		for b.Loop() {
			conv2DBackwardNaive(dx, dw, db, dout, x, w, H, H, C, E, 1, 1, 1, 0, 0, H, H)
		}
		b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	xd, wd, dxd, dwd := cvRand(r, H*H*E), cvRand(r, 25*E), make([]float32, H*H*E), make([]float32, 25*E)
	dflops := float64(2 * 2 * H * H * 25 * E)
	b.Run("depthwise5x5/fast", func(b *testing.B) {
		for b.Loop() {
			DepthwiseConv2DBackward(dxd, dwd, db, dout, xd, wd, H, H, E, 5, 5, 1, 2, 2, H, H)
		}
		b.ReportMetric(dflops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
	b.Run("depthwise5x5/naive", func(b *testing.B) {
		for b.Loop() {
			depthwiseConv2DBackwardNaive(dxd, dwd, db, dout, xd, wd, H, H, E, 5, 5, 1, 2, 2, H, H)
		}
		b.ReportMetric(dflops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	})
}

// TestBackwardInputOnly checks that a nil dw (a frozen layer on the attack's path) gives the same
// dx and db as the full backward.
func TestBackwardInputOnly(t *testing.T) {
	r := rand.New(rand.NewPCG(35, 36))
	for _, cs := range convGradCases {
		OH, pt := SamePadding(cs.H, cs.K, cs.stride)
		OW, pl := SamePadding(cs.W, cs.K, cs.stride)
		K := cs.K * cs.K * cs.C
		x, w, dout := cvRand(r, cs.H*cs.W*cs.C), cvRand(r, cs.OC*K), cvRand(r, OH*OW*cs.OC)
		col, dcol := make([]float32, OH*OW*K), make([]float32, OH*OW*K)
		dx, dw, db := make([]float32, len(x)), make([]float32, len(w)), make([]float32, cs.OC)
		Conv2DBackward(dx, dw, db, dout, x, w, col, dcol, cs.H, cs.W, cs.C, cs.OC, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		dx2, db2 := make([]float32, len(x)), make([]float32, cs.OC)
		Conv2DBackward(dx2, nil, db2, dout, x, w, nil, dcol, cs.H, cs.W, cs.C, cs.OC, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		cvClose(t, fmt.Sprintf("conv %+v dx", cs), dx2, dx, 0)
		cvClose(t, fmt.Sprintf("conv %+v db", cs), db2, db, 0)

		wd := cvRand(r, cs.K*cs.K*cs.C)
		dd := cvRand(r, OH*OW*cs.C)
		dx, dw = make([]float32, len(x)), make([]float32, len(wd))
		DepthwiseConv2DBackward(dx, dw, nil, dd, x, wd, cs.H, cs.W, cs.C, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		dx2 = make([]float32, len(x))
		DepthwiseConv2DBackward(dx2, nil, nil, dd, x, wd, cs.H, cs.W, cs.C, cs.K, cs.K, cs.stride, pt, pl, OH, OW)
		cvClose(t, fmt.Sprintf("depthwise %+v dx", cs), dx2, dx, 0)
	}
}
