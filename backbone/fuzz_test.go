package backbone

import (
	"bytes"
	"image"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzLoadGraphModel feeds arbitrary model.json and weight bytes to the loader: it must return an
// error or a model, never panic, hang or allocate without bound; a model it accepts must run.
func FuzzLoadGraphModel(f *testing.F) {
	mj, files, _ := tinyNet(f, rand.New(rand.NewPCG(3, 3)))
	one := []byte(strings.Replace(string(mj), `"paths":["s1","s2"]`, `"paths":["s1"]`, 1))
	bin := append(append([]byte{}, files["s1"]...), files["s2"]...)
	f.Add(one, bin)
	f.Add(one, bin[:len(bin)/2])
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder"},{"name":"tap","op":"Relu","input":["x"]}]},"weightsManifest":[]}`), []byte{})
	f.Add([]byte(`{"modelTopology":{"node":[{"name":"tap","op":"Squeeze","input":["tap"]}]}}`), []byte{})
	f.Fuzz(func(t *testing.T, mj, bin []byte) {
		info := Info{Tap: "tap", InputSize: 9, InputRange: [2]float32{0, 1}, Pool: "mean"}
		m, err := LoadGraphModel(mj, func(p string) ([]byte, error) {
			if p == "s1" {
				return bin, nil
			}
			return nil, nil
		}, &info)
		if err != nil {
			if m != nil {
				t.Fatal("model and error")
			}
			return
		}
		dst := make([]float32, m.Dim())
		_ = m.Forward(dst, make([]float32, 9*9*3))
		rgba := make([]byte, 4*5*3)
		_ = m.Features(dst, rgba, 5, 3)
	})
}

// FuzzDecodeImage feeds arbitrary bytes to DecodeImage (our EXIF reader and orientation included):
// an error or an image whose pixel buffer matches its size, never a panic. Inputs that declare more
// than 4 megapixels are skipped to keep the fuzzer's memory bounded; DecodeImage itself allows 100.
func FuzzDecodeImage(f *testing.F) {
	img := image.NewRGBA(image.Rect(0, 0, 6, 4))
	for i := range img.Pix {
		img.Pix[i] = byte(i * 7)
	}
	var b bytes.Buffer
	png.Encode(&b, img)
	f.Add(b.Bytes())
	b.Reset()
	jpeg.Encode(&b, img, nil)
	j := b.Bytes()
	tiff := []byte{'I', 'I', 42, 0, 8, 0, 0, 0, 1, 0, 0x12, 0x01, 3, 0, 1, 0, 0, 0, 6, 0, 0, 0, 0, 0, 0, 0}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
	f.Add(append(append(append([]byte{}, j[:2]...), app1...), j[2:]...))
	f.Fuzz(func(t *testing.T, data []byte) {
		if cfg, _, err := image.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height > 4<<20 {
			return
		}
		rgba, w, h, err := DecodeImage(data)
		if err == nil && len(rgba) != 4*w*h {
			t.Fatalf("%dx%d image with %d bytes", w, h, len(rgba))
		}
	})
}
