package tune

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"

	"finetuner/backbone"
	"finetuner/imagefile"
	"finetuner/kernels"
)

// TestTrainProbe: the frozen probe separates two Gaussian clouds, and the same seed gives the
// same bits.
func TestTrainProbe(t *testing.T) {
	const N, D = 60, 8
	rng := kernels.NewRNG(1)
	rows, y := make([][]float32, N), make([]int32, N)
	var train, val []int32
	for i := range rows {
		y[i] = int32(i % 2)
		rows[i] = make([]float32, D)
		for d := range rows[i] {
			rows[i][d] = float32(rng.Normal()) + 2*float32(y[i])
		}
		if i%4 == 0 {
			val = append(val, int32(i))
		} else {
			train = append(train, int32(i))
		}
	}
	cfg := DefaultConfig()
	a, res, err := Train(context.Background(), nil, false, rows, y, 2, train, val, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.ValAcc < 0.9 {
		t.Fatalf("val acc %.2f, want ≥ 0.9", res.ValAcc)
	}
	b, _, _ := Train(context.Background(), nil, false, rows, y, 2, train, val, nil, cfg)
	for i := range a.W {
		if a.W[i] != b.W[i] {
			t.Fatalf("weight %d differs between two runs with one seed: %v %v", i, a.W[i], b.W[i])
		}
	}
}

// demo loads the first n photos of two demo classes at the model's input size, as pixels in [0,1].
func demo(t *testing.T, m *backbone.Model, n int) ([][]float32, []int32) {
	t.Helper()
	dir := os.Getenv("FINETUNER_DEMO")
	if dir == "" {
		dir = "../public/demo"
	}
	var pix [][]float32
	var y []int32
	var pre []float32
	r := m.Info().InputRange
	for c, class := range []string{"birds", "vehicles"} {
		files, _ := filepath.Glob(filepath.Join(dir, class, "*.png"))
		if len(files) < n {
			t.Skipf("no demo photos in %s (./build.sh web builds them)", dir)
		}
		for _, f := range files[:n] {
			b, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			rgba, w, h, err := imagefile.Decode(b)
			if err != nil {
				t.Fatal(err)
			}
			if err := m.Preprocess(&pre, rgba, w, h, backbone.View{}); err != nil {
				t.Fatal(err)
			}
			p := make([]float32, len(pre))
			for i, v := range pre {
				p[i] = (v - r[0]) / (r[1] - r[0])
			}
			pix, y = append(pix, p), append(y, int32(c))
		}
	}
	return pix, y
}

// TestFinetuneAndAttack runs both halves on the real centernet at 96 px on a few demo photos:
// fine-tuning the last block changes its weights and keeps the validation loss finite (and no
// worse than the probe's, since the best epoch is kept), and the attack stays within its DSSIM
// budget while moving the teacher's features most of the way to the target's.
func TestFinetuneAndAttack(t *testing.T) {
	models := os.Getenv("FINETUNER_MODELS")
	if models == "" {
		models = "../public/models"
	}
	if _, err := os.Stat(filepath.Join(models, "centernet", "model.json")); err != nil {
		t.Skip("no converted models (./build.sh models)")
	}
	dir := filepath.Join(models, "centernet")
	mj, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	m0, err := backbone.Load(os.DirFS(models), "centernet")
	if err != nil {
		t.Fatal(err)
	}
	info := m0.Info()
	info.InputSize, info.Dim = 96, 0
	m, err := backbone.LoadGraphModel(mj, func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, p)) }, &info)
	if err != nil {
		t.Fatal(err)
	}
	pix, y := demo(t, m, 5)
	lo, span := info.InputRange[0], info.InputRange[1]-info.InputRange[0]
	z := make([]float32, len(pix[0]))
	input := func(p []float32) []float32 {
		for i, v := range p {
			z[i] = lo + span*v
		}
		return z
	}
	cut, _, err := m.FinetuneCut(1)
	if err != nil {
		t.Fatal(err)
	}
	below, _ := m.Section("", cut, false)
	top, _ := m.Section(cut, "", true)
	rows := make([][]float32, len(pix))
	for i, p := range pix {
		rows[i] = append([]float32(nil), below.Forward(input(p))...)
	}
	w0 := append([]float32(nil), top.Params()[0].W...)
	train, val := []int32{0, 1, 2, 5, 6, 7}, []int32{3, 4, 8, 9}
	cfg := DefaultConfig()
	cfg.Epochs, cfg.Batch, cfg.LRBackbone, cfg.HeadSteps = 3, 3, 1e-3, 0 // the head starts at zero, so training must move the blocks
	_, res, err := Train(context.Background(), top, true, rows, y, 2, train, val, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if math.IsNaN(res.ValLoss) || math.IsInf(res.ValLoss, 0) {
		t.Fatalf("val loss %v", res.ValLoss)
	}
	changed := false
	for i, v := range top.Params()[0].W {
		changed = changed || v != w0[i]
	}
	if !changed || !(res.ValLoss < math.Ln2) {
		t.Fatalf("fine-tuning kept the initial weights (val loss %.4f, ln 2 = %.4f at the start)", res.ValLoss, math.Ln2)
	}
	t.Logf("probe val acc %.2f, fine-tuned %.2f (val loss %.4f, %d epochs), weights changed: %v", res.ProbeValAcc, res.ValAcc, res.ValLoss, res.Epochs, changed)

	r, _ := m.Section("", "", false)
	a := NewAttack(r, true, info.InputRange, 40)
	adv, d, dist := a.Run(pix[0], pix[5])
	t.Logf("attack: DSSIM %.5f (budget %.3f), relative distance to the target's features %.3f", d, a.Budget, dist)
	if d > a.Budget {
		t.Fatalf("DSSIM %v over the budget %v", d, a.Budget)
	}
	if !(dist < 0.5) {
		t.Fatalf("the attack left the features %.3f of the way from the target's", dist)
	}
	for i, v := range adv {
		if v < 0 || v > 1 || v*255 != float32(math.Round(float64(v*255))) {
			t.Fatalf("adversarial pixel %d = %v is not an 8-bit value in [0,1]", i, v)
		}
	}
}
