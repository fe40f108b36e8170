package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// The element-wise kernels, the axpy loops of LinearBackward and the depthwise convolution promise
// the scalar loops' bits in the SIMD128 build (only the gemm adds in another order). These tests
// hold the kernels a build runs to the scalar loops bit for bit, at lengths that hit every
// four-lane remainder, with guard cells, on values that probe the edge cases: -0, ±Inf, NaN, and
// the clamps' 0, 3 and 6. In the scalar build they compare a loop with itself and pass trivially;
// CI runs them in the SIMD128 build too (GOEXPERIMENT=simd GOOS=js GOARCH=wasm).

func edgeVec(r *rand.Rand, n int) []float32 {
	special := []float32{0, float32(math.Copysign(0, -1)), 6, -6, 3, -3, 6.0000005, -0.0000001,
		float32(math.Inf(1)), float32(math.Inf(-1)), float32(math.NaN())}
	v := make([]float32, n)
	for i := range v {
		if r.IntN(4) == 0 {
			v[i] = special[r.IntN(len(special))]
		} else {
			v[i] = 20*r.Float32() - 10
		}
	}
	return v
}

// sameBits fails unless got and want have the same bits, except that any NaN matches any NaN:
// WebAssembly leaves the sign and payload of a NaN result unspecified, scalar or SIMD.
func sameBits(t *testing.T, name string, got, want []float32) {
	t.Helper()
	for i := range want {
		if got[i] != got[i] && want[i] != want[i] {
			continue
		}
		if math.Float32bits(got[i]) != math.Float32bits(want[i]) {
			t.Fatalf("%s (%s): element %d = %v (%#08x), want %v (%#08x)", name, SIMD, i, got[i], math.Float32bits(got[i]), want[i], math.Float32bits(want[i]))
		}
	}
}

func TestActivationsSameBitsAsScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, n := range []int{0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 1027} {
		x := edgeVec(r, n)
		for _, k := range []struct {
			name       string
			fast, slow func(out, x []float32)
		}{
			{"Relu", Relu, reluScalar},
			{"Relu6", Relu6, relu6Scalar},
			{"HardSwishScaled", func(o, x []float32) { HardSwishScaled(o, x, 0.16662598, 3) }, func(o, x []float32) { hardSwishScalar(o, x, 0.16662598, 3) }},
			{"addBias", func(o, x []float32) { copy(o, x); addBias(o, x[len(x)-len(o):]) }, func(o, x []float32) { copy(o, x); addBiasScalar(o, x[len(x)-len(o):]) }},
		} {
			got, want := newGuarded(make([]float32, n)), make([]float32, n)
			k.fast(got.data(), x)
			k.slow(want, x)
			name := fmt.Sprintf("%s n=%d", k.name, n)
			got.check(t, name)
			sameBits(t, name, got.data(), want)
			inPlace := append([]float32(nil), x...)
			k.fast(inPlace, inPlace)
			sameBits(t, name+" in place", inPlace, want)
		}
	}
}

func TestDepthwiseSameBitsAsScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, K := range []int{1, 3, 5} {
		for _, stride := range []int{1, 2} {
			for _, sz := range []struct{ H, W, C int }{{1, 1, 1}, {3, 2, 3}, {5, 4, 4}, {6, 7, 5}, {4, 4, 8}, {7, 5, 9}, {5, 6, 12}, {3, 3, 15}, {8, 8, 19}, {6, 13, 8}, {9, 14, 12}, {7, 12, 6}} {
				OH, pt := SamePadding(sz.H, K, stride)
				OW, pl := SamePadding(sz.W, K, stride)
				x, w, b := edgeVec(r, sz.H*sz.W*sz.C), cvRand(r, K*K*sz.C), cvRand(r, sz.C)
				for _, bias := range [][]float32{b, nil} {
					for _, act := range []FusedAct{FusedNone, FusedRelu, FusedRelu6, FusedHardSwish} {
						got := newGuarded(make([]float32, OH*OW*sz.C))
						want := make([]float32, OH*OW*sz.C)
						DepthwiseConv2D(got.data(), x, w, bias, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW, act)
						depthwiseScalar(want, x, w, bias, sz.H, sz.W, sz.C, K, K, stride, pt, pl, OH, OW, act)
						name := fmt.Sprintf("K=%d s=%d %+v bias=%v %v", K, stride, sz, bias != nil, act)
						got.check(t, name)
						sameBits(t, name, got.data(), want)
					}
				}
			}
		}
	}
}

func TestAxpySameBitsAsScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, D := range []int{1, 2, 3, 4, 5, 7, 8, 9, 16, 17, 480, 1283} {
		x0, x1, x2, x3 := cvRand(r, D), cvRand(r, D), cvRand(r, D), cvRand(r, D)
		y0, y1 := cvRand(r, D), cvRand(r, D)
		c := cvRand(r, 8)
		for _, k := range []struct {
			name       string
			fast, slow func(y0, y1 []float32)
		}{
			{"axpy4x2", func(y0, y1 []float32) {
				axpy4x2(y0, y1, x0, x1, x2, x3, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
			},
				func(y0, y1 []float32) {
					axpy4x2Scalar(y0, y1, x0, x1, x2, x3, c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7])
				}},
			{"axpy4x1", func(y0, _ []float32) { axpy4x1(y0, x0, x1, x2, x3, c[0], c[1], c[2], c[3]) },
				func(y0, _ []float32) { axpy4x1Scalar(y0, x0, x1, x2, x3, c[0], c[1], c[2], c[3]) }},
			{"axpy1", func(y0, _ []float32) { axpy1(y0, x0, c[0]) }, func(y0, _ []float32) { axpy1Scalar(y0, x0, c[0]) }},
		} {
			g0, g1 := newGuarded(y0), newGuarded(y1)
			w0, w1 := append([]float32(nil), y0...), append([]float32(nil), y1...)
			k.fast(g0.data(), g1.data())
			k.slow(w0, w1)
			name := fmt.Sprintf("%s D=%d", k.name, D)
			g0.check(t, name)
			g1.check(t, name)
			sameBits(t, name+" y0", g0.data(), w0)
			sameBits(t, name+" y1", g1.data(), w1)
		}
	}
}

func TestElementwiseSameBitsAsScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, n := range []int{1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 100, 1027} {
		a, b := edgeVec(r, n), edgeVec(r, n)
		for _, op := range []Binary{BinaryAdd, BinarySub, BinaryMul} {
			got, want := newGuarded(make([]float32, n)), make([]float32, n)
			Elementwise(got.data(), a, b, op)
			elementwiseScalar(want, a, b, op)
			name := fmt.Sprintf("op %d n=%d", op, n)
			got.check(t, name)
			sameBits(t, name, got.data(), want)
			inPlace := append([]float32(nil), a...)
			Elementwise(inPlace, inPlace, b, op)
			sameBits(t, name+" in place", inPlace, want)
		}
	}
}

func TestMeanHWSameBitsAsScalar(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, sz := range []struct{ H, W, C int }{{1, 1, 1}, {1, 1, 4}, {2, 3, 5}, {7, 7, 8}, {3, 5, 13}, {14, 14, 96}} {
		x := edgeVec(r, sz.H*sz.W*sz.C)
		got, want := newGuarded(make([]float32, sz.C)), make([]float32, sz.C)
		MeanHW(got.data(), x, sz.H, sz.W, sz.C)
		meanHWScalar(want, x, sz.H*sz.W, sz.C)
		name := fmt.Sprintf("MeanHW %+v", sz)
		got.check(t, name)
		sameBits(t, name, got.data(), want)
	}
}
