package main

import (
	"bytes"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRunErrors checks that a missing or unusable demo set and a missing backbone give errors
// that say what to do, before any model is loaded.
func TestRunErrors(t *testing.T) {
	dir := t.TempDir()
	demo := filepath.Join(dir, "demo")
	os.MkdirAll(demo, 0o755)
	out := filepath.Join(dir, "out")
	for _, c := range []struct{ manifest, want string }{
		{"", "build the demo set first"},
		{"{", "manifest.json"},
		{`{"classes": [{"name": "a", "files": []}]}`, "fewer than two classes"},
		{`{"classes": [{"name": "a", "files": ["a/x.png"]}, {"name": "b", "files": []}]}`, "x.png"},
	} {
		os.Remove(filepath.Join(demo, "manifest.json"))
		if c.manifest != "" {
			os.WriteFile(filepath.Join(demo, "manifest.json"), []byte(c.manifest), 0o644)
		}
		err := run(filepath.Join(dir, "models"), demo, out, []string{"centernet"})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("manifest %q: got error %v, want one mentioning %q", c.manifest, err, c.want)
		}
	}
	// A readable image but no backbone: the error names the missing model.json.
	os.MkdirAll(filepath.Join(demo, "a"), 0o755)
	var buf bytes.Buffer
	png.Encode(&buf, image.NewRGBA(image.Rect(0, 0, 4, 4)))
	os.WriteFile(filepath.Join(demo, "a", "x.png"), buf.Bytes(), 0o644)
	os.WriteFile(filepath.Join(demo, "manifest.json"), []byte(`{"classes": [{"name": "a", "files": ["a/x.png"]}, {"name": "b", "files": ["a/x.png"]}]}`), 0o644)
	err := run(filepath.Join(dir, "models"), demo, out, []string{"centernet"})
	if err == nil || !strings.Contains(err.Error(), "model.json") {
		t.Errorf("no backbone: got error %v, want one naming model.json", err)
	}
}
