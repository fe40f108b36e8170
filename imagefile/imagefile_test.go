package imagefile

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"
)

// jpegWithOrientation encodes img as a JPEG carrying an EXIF Orientation tag.
func jpegWithOrientation(t *testing.T, img image.Image, o uint16) []byte {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	tiff := []byte{'M', 'M', 0, 42, 0, 0, 0, 8, 0, 1, 0x01, 0x12, 0, 3, 0, 0, 0, 1, byte(o >> 8), byte(o), 0, 0, 0, 0, 0, 0}
	seg := append([]byte("Exif\x00\x00"), tiff...)
	app1 := append([]byte{0xFF, 0xE1, byte((len(seg) + 2) >> 8), byte(len(seg) + 2)}, seg...)
	j := b.Bytes()
	return append(append(append([]byte{}, j[:2]...), app1...), j[2:]...)
}

func TestDecodeOrientation(t *testing.T) {
	// 16×8: left half red, right half blue.
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 16; x++ {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 8 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	for _, tc := range []struct {
		o          uint16
		w, h       int
		topLeftRed bool
	}{{1, 16, 8, true}, {3, 16, 8, false}, {6, 8, 16, true}, {8, 8, 16, false}, {2, 16, 8, false}} {
		rgba, w, h, err := Decode(jpegWithOrientation(t, img, tc.o))
		if err != nil {
			t.Fatal(err)
		}
		red := rgba[0] > 128 && rgba[2] < 128
		if w != tc.w || h != tc.h || red != tc.topLeftRed {
			t.Errorf("orientation %d: %dx%d top-left red %v, want %dx%d %v", tc.o, w, h, red, tc.w, tc.h, tc.topLeftRed)
		}
	}
}

func TestDecodeErrors(t *testing.T) {
	var b bytes.Buffer
	png.Encode(&b, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	for name, data := range map[string][]byte{
		"empty": nil, "text": []byte("hello"), "truncated png": b.Bytes()[:b.Len()/2],
		"jpeg header only": {0xFF, 0xD8, 0xFF, 0xE0, 0, 4, 0, 0},
	} {
		if _, _, _, err := Decode(data); err == nil {
			t.Errorf("%s: decoded", name)
		}
	}
	rgba, w, h, err := Decode(b.Bytes())
	if err != nil || w != 4 || h != 4 || len(rgba) != 64 {
		t.Errorf("png: %v %dx%d %d", err, w, h, len(rgba))
	}
}

// TestDecodeWebP reads two WebP fixtures made with cwebp from a 48×32 image, left half red and right
// half blue: testdata/red-blue.webp (lossy) and testdata/red-blue-alpha.webp (lossless, bottom half
// transparent).
func TestDecodeWebP(t *testing.T) {
	for _, tc := range []struct {
		file        string
		bottomAlpha byte
	}{{"red-blue.webp", 255}, {"red-blue-alpha.webp", 0}} {
		data, err := os.ReadFile(filepath.Join("..", "testdata", tc.file))
		if err != nil {
			t.Fatal(err)
		}
		rgba, w, h, err := Decode(data)
		if err != nil {
			t.Fatalf("%s: %v", tc.file, err)
		}
		if w != 48 || h != 32 {
			t.Fatalf("%s: %dx%d, want 48x32", tc.file, w, h)
		}
		left, right := rgba[4*(8*48+4):], rgba[4*(8*48+44):]
		if left[0] < 180 || left[2] > 80 || right[2] < 180 || right[0] > 80 || left[3] != 255 {
			t.Errorf("%s: left %v right %v", tc.file, left[:4], right[:4])
		}
		if a := rgba[4*(28*48+4)+3]; a != tc.bottomAlpha {
			t.Errorf("%s: bottom alpha %d, want %d", tc.file, a, tc.bottomAlpha)
		}
	}
}

// TestPreprocessCrops: a half-size crop at each corner of a four-colour image sees one colour.
// FuzzDecode feeds arbitrary bytes to Decode (our EXIF reader and orientation included):
// an error or an image whose pixel buffer matches its size, never a panic. Inputs that declare more
// than 4 megapixels are skipped to keep the fuzzer's memory bounded; Decode itself allows 100.
func FuzzDecode(f *testing.F) {
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
		rgba, w, h, err := Decode(data)
		if err == nil && len(rgba) != 4*w*h {
			t.Fatalf("%dx%d image with %d bytes", w, h, len(rgba))
		}
	})
}
