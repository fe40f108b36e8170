package backbone

import (
	"math"
	"math/rand/v2"
	"testing"
)

func tinyModel(t *testing.T, size int, lo, hi float32) *Model {
	t.Helper()
	_, files, _ := tinyNet(t, rand.New(rand.NewPCG(4, 4)))
	info := tinyInfo
	info.InputSize, info.InputRange = size, [2]float32{lo, hi}
	m, err := LoadGraphModel(files["model.json"], func(p string) ([]byte, error) { return files[p], nil }, &info)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func solid(w, h int, c [4]byte) []byte {
	b := make([]byte, 4*w*h)
	for i := 0; i < len(b); i += 4 {
		copy(b[i:], c[:])
	}
	return b
}

func TestPreprocessSolid(t *testing.T) {
	m := tinyModel(t, 16, -1, 1)
	var x []float32
	for _, sz := range [][2]int{{1, 1}, {7, 3}, {16, 16}, {640, 480}, {33, 1000}} {
		for _, v := range []View{{}, {Pad: true}, {Flip: true, Scale: 0.8, X: 1, Y: -0.3}} {
			// Opaque colour (200, 100, 0) and half-transparent black, which composites onto white.
			for _, tc := range []struct {
				px   [4]byte
				want [3]float32
			}{
				{[4]byte{200, 100, 0, 255}, [3]float32{200, 100, 0}},
				{[4]byte{0, 0, 0, 0}, [3]float32{255, 255, 255}},
				{[4]byte{0, 0, 0, 51}, [3]float32{204, 204, 204}},
			} {
				if err := m.Preprocess(&x, solid(sz[0], sz[1], tc.px), sz[0], sz[1], v); err != nil {
					t.Fatal(err)
				}
				for i, got := range x {
					want := tc.want[i%3]/255*2 - 1
					if v.Pad && sz[0] != sz[1] {
						continue // white borders: checked in TestPreprocessPad
					}
					if math.Abs(float64(got-want)) > 1e-4 {
						t.Fatalf("%v %+v %v: x[%d] = %g, want %g", sz, v, tc.px, i, got, want)
					}
				}
			}
		}
	}
}

func TestPreprocessFlipAndCrop(t *testing.T) {
	m := tinyModel(t, 8, 0, 255)
	r := rand.New(rand.NewPCG(5, 5))
	w, h := 50, 40
	img := make([]byte, 4*w*h)
	for i := range img {
		img[i] = byte(r.IntN(256))
		if i%4 == 3 {
			img[i] = 255
		}
	}
	var a, b []float32
	m.Preprocess(&a, img, w, h, View{})
	m.Preprocess(&b, img, w, h, View{Flip: true})
	for y := 0; y < 8; y++ {
		for x := 0; x < 8; x++ {
			for c := 0; c < 3; c++ {
				if a[(y*8+x)*3+c] != b[(y*8+7-x)*3+c] {
					t.Fatalf("flip: pixel (%d,%d) differs", x, y)
				}
			}
		}
	}
	// Upscaling exactly 8×8 → 8×8 is the identity (each output pixel sits on a source pixel).
	small := img[:4*8*8]
	m.Preprocess(&a, small, 8, 8, View{})
	for i := 0; i < 64; i++ {
		for c := 0; c < 3; c++ {
			if math.Abs(float64(a[3*i+c]-float32(small[4*i+c]))) > 1e-3 {
				t.Fatalf("identity resize: pixel %d channel %d: %g vs %d", i, c, a[3*i+c], small[4*i+c])
			}
		}
	}
	for _, v := range []View{{Scale: -1}, {Scale: 2}, {X: 1.5}, {X: -1.5}, {Y: float32(math.NaN())}} {
		if err := m.Preprocess(&a, small, 8, 8, v); err == nil {
			t.Errorf("view %+v accepted", v)
		}
	}
	if err := m.Preprocess(&a, small[:10], 8, 8, View{}); err == nil {
		t.Error("short pixel buffer accepted")
	}
	if err := m.Preprocess(&a, nil, 0, 8, View{}); err == nil {
		t.Error("empty image accepted")
	}
}

func TestPreprocessPad(t *testing.T) {
	m := tinyModel(t, 10, 0, 255)
	var x []float32
	// A black 100×50 image padded to 100×100: the top and bottom quarters are white.
	m.Preprocess(&x, solid(100, 50, [4]byte{0, 0, 0, 255}), 100, 50, View{Pad: true})
	if x[0] < 254.99 || x[len(x)-1] < 254.99 || x[(5*10+5)*3] != 0 {
		t.Fatalf("pad: top-left %g, centre %g, bottom-right %g", x[0], x[(5*10+5)*3], x[len(x)-1])
	}
}

func TestPreprocessCrops(t *testing.T) {
	m := tinyModel(t, 8, 0, 255)
	const n = 64
	img := make([]byte, 4*n*n)
	quad := func(x, y int) byte { return byte(40 + 60*(2*(y/(n/2))+x/(n/2))) }
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			p := img[4*(y*n+x):]
			p[0], p[1], p[2], p[3] = quad(x, y), 0, 0, 255
		}
	}
	var x []float32
	for _, tc := range []struct{ X, Y float32 }{{-1, -1}, {1, -1}, {-1, 1}, {1, 1}} {
		if err := m.Preprocess(&x, img, n, n, View{Scale: 0.5, X: tc.X, Y: tc.Y}); err != nil {
			t.Fatal(err)
		}
		qx, qy := 0, 0
		if tc.X > 0 {
			qx = n - 1
		}
		if tc.Y > 0 {
			qy = n - 1
		}
		want := float32(quad(qx, qy))

		// The output pixel at the image's own corner is pure (the filter reaches across the crop's
		// inner edges, by design, so those blend).
		corner := map[[2]float32]int{{-1, -1}: 0, {1, -1}: 7, {-1, 1}: 56, {1, 1}: 63}[[2]float32{tc.X, tc.Y}]
		if got := x[3*corner]; math.Abs(float64(got-want)) > 0.5 {
			t.Errorf("crop %+v outer corner: red %g, want %g", tc, got, want)
		}
	}
}
