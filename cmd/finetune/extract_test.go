package main

import (
	"bytes"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"codeberg.org/sbinet/npyio/npy"
)

// TestExtract runs the extract command on a folder of generated JPEG, PNG and GIF images with
// broken files mixed in, against a real backbone (FINETUNER_MODELS, set by
// scripts/test-backbone.sh, else ../../public/models): the broken files are skipped and listed,
// the .npy has one row per readable image, and the labels file one line per row.
func TestExtract(t *testing.T) {
	models := os.Getenv("FINETUNER_MODELS")
	if models == "" {
		models = "../../public/models"
	}
	if _, err := os.Stat(filepath.Join(models, "centernet", "model.json")); err != nil {
		t.Skipf("no converted models in %s (./build.sh models)", models)
	}
	dir := t.TempDir()
	write := func(name string, data []byte) {
		p := filepath.Join(dir, "in", name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	img := func(w, h int, c color.RGBA) *image.RGBA {
		m := image.NewRGBA(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				m.Set(x, y, color.RGBA{c.R ^ uint8(x), c.G ^ uint8(y), c.B, 255})
			}
		}
		return m
	}
	var b bytes.Buffer
	png.Encode(&b, img(300, 200, color.RGBA{200, 30, 30, 255}))
	write("red/a.png", b.Bytes())
	b.Reset()
	jpeg.Encode(&b, img(97, 151, color.RGBA{220, 40, 20, 255}), nil)
	write("red/sub/b.jpg", b.Bytes())
	b.Reset()
	gif.Encode(&b, img(64, 64, color.RGBA{20, 40, 220, 255}), nil)
	write("blue/c.gif", b.Bytes())
	write("blue/broken.png", b.Bytes()[:20])
	write("blue/readme.txt", []byte("not an image"))
	write("blue/.DS_Store", []byte("ignored"))

	out, labels, files := filepath.Join(dir, "f.npy"), filepath.Join(dir, "l.txt"), filepath.Join(dir, "s.txt")
	err := runExtract([]string{"-q", "-backbone", filepath.Join(models, "centernet"), "-o", out, "-labels", labels,
		"-files", files, "-augment", "flip,crops", filepath.Join(dir, "in")})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := npy.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Descr.Shape; len(got) != 2 || got[0] != 3*7 || got[1] != 480 || strings.Trim(r.Header.Descr.Type, "'") != "<f4" {
		t.Fatalf(".npy is %s %v, want <f4 [21 480]", r.Header.Descr.Type, got)
	}
	var data []float32
	if err := r.Read(&data); err != nil {
		t.Fatal(err)
	}
	if data[0] == data[480] && data[1] == data[481] {
		t.Errorf("the mirrored view gave the same features as the plain one")
	}
	lb, _ := os.ReadFile(labels)
	want := strings.Repeat("blue\n", 7) + strings.Repeat("red\n", 14)
	if string(lb) != want {
		t.Errorf("labels:\n%s\nwant:\n%s", lb, want)
	}
	sb, _ := os.ReadFile(files)
	if lines := strings.Split(strings.TrimSpace(string(sb)), "\n"); len(lines) != 21 || !strings.HasSuffix(lines[20], "b.jpg") {
		t.Errorf("files: %q", lines)
	}
}

func TestExtractErrors(t *testing.T) {
	dir := t.TempDir()
	if err := runExtract([]string{"-q", "-augment", "rotate", dir}); err == nil || !strings.Contains(err.Error(), "want flip, crops") {
		t.Errorf("bad -augment: %v", err)
	}
	if err := runExtract([]string{"-q", dir}); err == nil || !strings.Contains(err.Error(), "no files in class subfolders") {
		t.Errorf("empty folder: %v", err)
	}
	os.MkdirAll(filepath.Join(dir, "x"), 0o755)
	os.WriteFile(filepath.Join(dir, "x", "a.png"), []byte("x"), 0o644)
	if err := runExtract([]string{"-q", "-backbone", filepath.Join(dir, "nope"), dir}); err == nil || !strings.Contains(err.Error(), "model.json") {
		t.Errorf("missing backbone: %v", err)
	}
}
