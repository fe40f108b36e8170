package backbone

import (
	"fmt"
	"math"
)

// View selects what part of an image one feature vector is computed from. The zero View is the
// default: the largest centred square, unflipped. Extraction with augmentation computes one row per
// View (see Augmentations).
type View struct {
	// Pad fits the whole image into the square instead, padding the short side with white.
	Pad bool
	// Flip mirrors the image left to right.
	Flip bool
	// Scale is the side of the crop as a fraction of the square's side; 0 means 1 (all of it).
	Scale float32
	// X and Y place a smaller crop inside the square: -1 is left/top, 1 right/bottom, 0 centred.
	// With Scale 0 or 1 they have no effect.
	X, Y float32
}

// Augmentations returns the views "finetune extract -augment" uses, each its own feature row: the
// plain view first, then with flip its mirror image, then with crops four 80% corner crops and an
// 80% centre crop.
func Augmentations(flip, crops bool) []View {
	v := []View{{}}
	if flip {
		v = append(v, View{Flip: true})
	}
	if crops {
		v = append(v,
			View{Scale: 0.8, X: -1, Y: -1}, View{Scale: 0.8, X: 1, Y: -1},
			View{Scale: 0.8, X: -1, Y: 1}, View{Scale: 0.8, X: 1, Y: 1},
			View{Scale: 0.8})
	}
	return v
}

// preBuffers are the preprocessing buffers a Model reuses from image to image.
type preBuffers struct {
	input []float32 // (S,S,3) in the model's range
	tmp   []float32 // horizontally resampled rows, (rows,S,3)
	row   []float32 // one source row composited onto white, RGB
	wx    []resampleTap
	wy    []resampleTap
	taps  []float32
}

// resampleTap is one output pixel's filter: source pixels first..first+n-1 with weights taps[off:off+n].
type resampleTap struct{ first, n, off int }

// maxPixels bounds the images Features accepts (a 100-megapixel photo is 400 MB of RGBA already).
const maxPixels = 100 << 20

// Features computes the feature vector of one image into dst (Dim values). rgba holds w×h pixels,
// 4 bytes each, not premultiplied, row after row, as a canvas's ImageData or imagefile.Decode gives
// them. Transparent pixels are composited onto white. The image is cropped to its centred square,
// resized to the input size with an antialiasing triangle filter and scaled to the model's range.
func (m *Model) Features(dst []float32, rgba []byte, w, h int) error {
	return m.FeaturesView(dst, rgba, w, h, View{})
}

// FeaturesView is Features for one View of the image.
func (m *Model) FeaturesView(dst []float32, rgba []byte, w, h int, v View) error {
	if err := m.Preprocess(&m.pre.input, rgba, w, h, v); err != nil {
		return err
	}
	return m.Forward(dst, m.pre.input)
}

// Preprocess writes the network input for one view of an image into *dst (grown as needed):
// (S,S,3) float32 in the model's input range. Features is Preprocess followed by Forward.
func (m *Model) Preprocess(dst *[]float32, rgba []byte, w, h int, v View) error {
	if w <= 0 || h <= 0 || w > maxPixels/h {
		return fmt.Errorf("backbone: image size %dx%d out of range", w, h)
	}
	if len(rgba) != 4*w*h {
		return fmt.Errorf("backbone: %dx%d image needs %d RGBA bytes, got %d", w, h, 4*w*h, len(rgba))
	}
	if v.Scale < 0 || v.Scale > 1 || v.X < -1 || v.X > 1 || v.Y < -1 || v.Y > 1 ||
		math.IsNaN(float64(v.Scale)) || math.IsNaN(float64(v.X)) || math.IsNaN(float64(v.Y)) {
		return fmt.Errorf("backbone: view %+v out of range (Scale in [0,1], X and Y in [-1,1])", v)
	}
	S := m.info.InputSize
	if cap(*dst) < S*S*3 {
		*dst = make([]float32, S*S*3)
	}
	*dst = (*dst)[:S*S*3]

	// The square, in source pixel coordinates.
	side := float64(min(w, h))
	if v.Pad {
		side = float64(max(w, h))
	}
	x0, y0 := (float64(w)-side)/2, (float64(h)-side)/2
	if v.Scale > 0 && v.Scale < 1 {
		cs := side * float64(v.Scale)
		x0 += (side - cs) * (float64(v.X) + 1) / 2
		y0 += (side - cs) * (float64(v.Y) + 1) / 2
		side = cs
	}
	p := &m.pre
	p.taps = p.taps[:0]
	p.wx = resampleTaps(p.wx[:0], &p.taps, x0, side, S, w)
	p.wy = resampleTaps(p.wy[:0], &p.taps, y0, side, S, h)
	lo, hi := m.info.InputRange[0], m.info.InputRange[1]
	resample(*dst, rgba, w, p, S, v.Flip, lo, (hi-lo)/255)
	return nil
}

// resampleTaps computes, for each of S output pixels along one axis, the triangle-filter weights of
// the source pixels under it: the output pixel i covers [x0+i·s, x0+(i+1)·s) with s = side/S; the
// filter's radius is max(s, 1) source pixels so that downscaling averages every pixel (no aliasing)
// and upscaling interpolates linearly. Taps are kept inside the image, or inside the square when it
// is padded beyond the image (those read white), and the weights renormalised, so edges do not
// fade.
func resampleTaps(t []resampleTap, taps *[]float32, x0, side float64, S, n int) []resampleTap {
	s := side / float64(S)
	r := max(s, 1)
	lo := min(0, int(math.Floor(x0)))
	hi := max(n, int(math.Ceil(x0+side)))
	for i := 0; i < S; i++ {
		c := x0 + (float64(i)+0.5)*s
		first := max(int(math.Floor(c-r+0.5)), lo)
		last := min(int(math.Ceil(c+r-0.5)), hi-1)
		off := len(*taps)
		var sum float64
		for j := first; j <= last; j++ {
			wt := 1 - math.Abs((float64(j)+0.5-c)/r)
			if wt < 0 {
				wt = 0
			}
			*taps = append(*taps, float32(wt))
			sum += wt
		}
		if sum == 0 {
			// Cannot happen for a window centred inside [lo, hi); kept so a weight is never NaN.
			sum = 1
		}
		for k := off; k < len(*taps); k++ {
			(*taps)[k] = float32(float64((*taps)[k]) / sum)
		}
		t = append(t, resampleTap{first, last - first + 1, off})
	}
	return t
}

// resample applies the separable filter: each needed source row is composited onto white once
// (into p.row) and filtered horizontally into p.tmp, then columns are filtered vertically into dst,
// scaled by (value·k + lo).
func resample(dst []float32, rgba []byte, w int, p *preBuffers, S int, flip bool, lo, k float32) {
	h := len(rgba) / (4 * w)
	y0, y1 := p.wy[0].first, p.wy[S-1].first+p.wy[S-1].n
	rows := y1 - y0
	if cap(p.tmp) < rows*S*3 {
		p.tmp = make([]float32, rows*S*3)
	}
	tmp := p.tmp[:rows*S*3]
	// The row covers every column a tap can reach, white outside the image.
	x0, x1 := p.wx[0].first, p.wx[S-1].first+p.wx[S-1].n
	if cap(p.row) < 3*(x1-x0) {
		p.row = make([]float32, 3*(x1-x0))
	}
	row := p.row[:3*(x1-x0)]
	for y := y0; y < y1; y++ {
		out := tmp[(y-y0)*S*3:][:S*3]
		if y < 0 || y >= h {
			for i := range out {
				out[i] = 255
			}
			continue
		}
		src := rgba[y*w*4:][:w*4]
		for x := x0; x < x1; x++ {
			r := row[3*(x-x0):][:3]
			if x < 0 || x >= w {
				r[0], r[1], r[2] = 255, 255, 255
				continue
			}
			px := src[4*x:][:4]
			if px[3] == 255 {
				r[0], r[1], r[2] = float32(px[0]), float32(px[1]), float32(px[2])
				continue
			}
			a := float32(px[3]) / 255
			bg := 255 * (1 - a)
			r[0] = float32(px[0])*a + bg
			r[1] = float32(px[1])*a + bg
			r[2] = float32(px[2])*a + bg
		}
		for i, t := range p.wx {
			var r, g, b float32
			src := row[3*(t.first-x0):][:3*t.n]
			for j, wt := range p.taps[t.off:][:t.n] {
				q := src[3*j:][:3]
				r += q[0] * wt
				g += q[1] * wt
				b += q[2] * wt
			}
			o := out[3*i:][:3]
			o[0], o[1], o[2] = r, g, b
		}
	}
	for oy, t := range p.wy {
		drow := dst[oy*S*3:][:S*3]
		clear(drow)
		for j := 0; j < t.n; j++ {
			wt := p.taps[t.off+j]
			src := tmp[(t.first+j-y0)*S*3:][:S*3]
			for i, v := range src {
				drow[i] += v * wt
			}
		}
		for i := range drow {
			drow[i] = drow[i]*k + lo
		}
		if flip {
			for a, b := 0, S-1; a < b; a, b = a+1, b-1 {
				pa, pb := drow[3*a:3*a+3], drow[3*b:3*b+3]
				pa[0], pb[0] = pb[0], pa[0]
				pa[1], pb[1] = pb[1], pa[1]
				pa[2], pb[2] = pb[2], pa[2]
			}
		}
	}
}
