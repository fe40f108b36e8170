package main

import (
	"bytes"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"finetuner/featio"
)

// capture runs f with stdout redirected and returns what it printed.
func capture(t *testing.T, f func() error) (string, error) {
	t.Helper()
	var b bytes.Buffer
	old := stdout
	stdout = &b
	defer func() { stdout = old }()
	err := f()
	return b.String(), err
}

func writeFeatures(t *testing.T, dir, name string, x []float32, n, d int, labels []string) (string, string) {
	t.Helper()
	fp, lp := filepath.Join(dir, name+".npy"), filepath.Join(dir, name+".txt")
	var b bytes.Buffer
	if err := featio.WriteNPY(&b, x, n, d); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(fp, b.Bytes(), 0o644)
	text := ""
	if len(labels) > 0 {
		text = strings.Join(labels, "\n") + "\n"
	}
	os.WriteFile(lp, []byte(text), 0o644)
	return fp, lp
}

const tuxFeatures, tuxLabels = "../../head/testdata/tux-centernet.npy", "../../head/testdata/tux-centernet.txt"

func TestTrainEvalPredict(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "head.safetensors")
	for _, kind := range []string{"linear", "mlp", "auto"} {
		args := []string{"-features", tuxFeatures, "-labels", tuxLabels, "-o", out, "-head", kind, "-q", "-epochs", "30", "-backbone", "centernet"}
		s, err := capture(t, func() error { return runTrain(args) })
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		for _, want := range []string{"trained", "val 44 rows", "per class (val)", "confusion", "mammals", "wrote " + out} {
			if !strings.Contains(s, want) {
				t.Fatalf("%s: output lacks %q:\n%s", kind, want, s)
			}
		}
	}
	s, err := capture(t, func() error {
		return runEval([]string{"-head", out, "-features", tuxFeatures, "-labels", tuxLabels})
	})
	if err != nil || !strings.Contains(s, "220 rows: accuracy") {
		t.Fatalf("eval: %v\n%s", err, s)
	}
	s, err = capture(t, func() error { return runPredict([]string{"-head", out, "-features", tuxFeatures, "-top", "2"}) })
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if err != nil || len(lines) != 221 || lines[0] != "row,class1,prob1,class2,prob2" {
		t.Fatalf("predict: %v, %d lines, header %q", err, len(lines), lines[0])
	}
}

func TestCLIErrors(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "h.safetensors")
	good, goodL := writeFeatures(t, dir, "good", []float32{1, 2, 3, 4, 5, 6, 7, 8}, 4, 2, []string{"a", "b", "a", "b"})
	if _, err := capture(t, func() error {
		return runTrain([]string{"-features", good, "-labels", goodL, "-o", out, "-q", "-epochs", "2"})
	}); err != nil {
		t.Fatal(err)
	}
	nanF, nanL := writeFeatures(t, dir, "nan", []float32{1, float32(math.NaN()), 3, 4}, 2, 2, []string{"a", "b"})
	oneF, oneL := writeFeatures(t, dir, "one", []float32{1, 2, 3, 4}, 2, 2, []string{"a", "a"})
	emptyF, emptyL := writeFeatures(t, dir, "empty", nil, 0, 2, nil)
	wideF, _ := writeFeatures(t, dir, "wide", []float32{1, 2, 3, 4, 5, 6}, 2, 3, []string{"a", "b"})
	_, unkL := writeFeatures(t, dir, "unk", nil, 0, 2, []string{"a", "zebra", "a", "b"})
	cases := []struct {
		want string
		run  func() error
	}{
		{"must be finite numbers", func() error { return runTrain([]string{"-features", nanF, "-labels", nanL, "-o", out, "-q"}) }},
		{"at least 2", func() error { return runTrain([]string{"-features", oneF, "-labels", oneL, "-o", out, "-q"}) }},
		{"no samples", func() error { return runTrain([]string{"-features", emptyF, "-labels", emptyL, "-o", out, "-q"}) }},
		{"must match one to one", func() error { return runTrain([]string{"-features", good, "-labels", oneL, "-o", out, "-q"}) }},
		{"expects 2", func() error { return runPredict([]string{"-head", out, "-features", wideF}) }},
		{`"zebra"`, func() error { return runEval([]string{"-head", out, "-features", good, "-labels", unkL}) }},
		{"not a valid .safetensors", func() error { return runPredict([]string{"-head", good, "-features", good}) }},
		{"no such file", func() error { return runTrain([]string{"-features", "/nope.npy", "-labels", goodL, "-q"}) }},
		{"-head", func() error { return runTrain([]string{"-features", good, "-labels", goodL, "-head", "svm", "-q"}) }},
	}
	for _, c := range cases {
		_, err := capture(t, c.run)
		// Node spells "No such file" with a capital under wasm.
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(c.want)) {
			t.Errorf("want error containing %q, got %v", c.want, err)
		}
	}
}

// TestTrainFiles trains on augmented rows (three views of each of the 220 photos, as extract
// -augment writes them, each view its own row) with the -files list, so that validation holds
// whole photos, scored once each.
func TestTrainFiles(t *testing.T) {
	x, n, d, err := featio.ReadFeatures(tuxFeatures)
	if err != nil {
		t.Fatal(err)
	}
	names, err := featio.ReadLabelsFile(tuxLabels)
	if err != nil {
		t.Fatal(err)
	}
	var ax []float32
	var al, af []string
	for i := 0; i < n; i++ {
		for v := 0; v < 3; v++ {
			for k := 0; k < d; k++ {
				ax = append(ax, x[i*d+k]*(1+0.01*float32(v)))
			}
			al = append(al, names[i])
			af = append(af, filepath.Join("photos", names[i], "img"+strconv.Itoa(i)+".jpg"))
		}
	}
	dir := t.TempDir()
	fp, lp := writeFeatures(t, dir, "aug", ax, 3*n, d, al)
	files := filepath.Join(dir, "files.txt")
	os.WriteFile(files, []byte(strings.Join(af, "\n")+"\n"), 0o644)
	out := filepath.Join(dir, "h.safetensors")
	s, err := capture(t, func() error {
		return runTrain([]string{"-features", fp, "-labels", lp, "-files", files, "-o", out, "-head", "auto", "-q"})
	})
	if err != nil {
		t.Fatal(err)
	}
	// Without -files, validation would take 20% of 660 rows; with it, one row per held-out photo.
	if !strings.Contains(s, "val 44 rows") || !strings.Contains(s, "train 528 rows") {
		t.Fatalf("want 176 training photos × 3 views and 44 validation photos × 1:\n%s", s)
	}
	os.WriteFile(files, []byte(strings.Join(af[:10], "\n")+"\n"), 0o644)
	if _, err := capture(t, func() error {
		return runTrain([]string{"-features", fp, "-labels", lp, "-files", files, "-o", out, "-q"})
	}); err == nil || !strings.Contains(err.Error(), "10 lines for 660 feature rows") {
		t.Fatalf("short files list: %v", err)
	}
}
