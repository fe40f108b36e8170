package tune

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"finetuner/backbone"
	"finetuner/head"
)

func smallCenternet(t *testing.T) *backbone.Model {
	t.Helper()
	dir := filepath.Join("..", "public", "models", "centernet")
	mj, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Skip("no converted models (./build.sh models)")
	}
	m0, err := backbone.Load(os.DirFS(filepath.Dir(dir)), "centernet")
	if err != nil {
		t.Fatal(err)
	}
	info := m0.Info()
	info.InputSize, info.Dim = 64, 0
	m, err := backbone.LoadGraphModel(mj, func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, p)) }, &info)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPlan checks the plan's memory arithmetic against the sections it measures and its refusal.
func TestPlan(t *testing.T) {
	m := smallCenternet(t)
	cut, _, err := m.FinetuneCut(2)
	if err != nil {
		t.Fatal(err)
	}
	below, _ := m.Section("", cut, false)
	top, _ := m.Section(cut, "", true)
	p := NewPlan(top, below, 100, 80, 1<<30)
	in := top.InShape()
	n := 0
	for _, q := range top.Params() {
		n += len(q.W)
	}
	if p.CacheBytes != int64(4*100*in[0]*in[1]*in[2]) || p.Params != n || p.WeightBytes != int64(16*n) ||
		p.FrozenBytes != below.Bytes() || p.TotalBytes != p.CacheBytes+p.SectionBytes+p.WeightBytes+p.FrozenBytes || p.MsPerRow <= 0 || p.SecPerEpoch <= 0 || p.CacheSeconds <= 0 {
		t.Fatalf("plan %+v (input %v, %d parameters)", p, in, n)
	}
	if err := p.Fits(); err != nil {
		t.Errorf("%s within 1 GiB: %v", mib(p.TotalBytes), err)
	}
	for _, q := range top.Params() {
		if slices.ContainsFunc(q.G, func(v float32) bool { return v != 0 }) {
			t.Fatalf("the timed step left gradients in %s", q.Name())
		}
	}
	p.LimitBytes = p.TotalBytes - 1
	if err := p.Fits(); err == nil || !strings.Contains(err.Error(), "fewer images or fewer blocks") {
		t.Errorf("one byte over the limit: %v", err)
	}
}

// TestTrainedOnly checks that TrainedOnly keeps a trained epoch's weights, and that the head
// file of the student carries them.
func TestTrainedOnly(t *testing.T) {
	m := smallCenternet(t)
	pix, y := demo(t, m, 4)
	cut, names, _ := m.FinetuneCut(1)
	below, _ := m.Section("", cut, false)
	info := m.Info()
	rows := make([][]float32, len(pix))
	for i, p := range pix {
		z := make([]float32, len(p))
		for k, v := range p {
			z[k] = info.InputRange[0] + (info.InputRange[1]-info.InputRange[0])*v
		}
		rows[i] = slices.Clone(below.Forward(z))
	}
	C := int(slices.Max(y)) + 1
	train, val := head.Split(y, C, 0.25, 1)
	cfg := DefaultConfig()
	cfg.Epochs, cfg.TrainedOnly = 2, true
	top, _ := m.Section(cut, "", true)
	st, res, err := Train(context.Background(), top, info.Pool == "mean", rows, y, C, train, val, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	if res.BestEpoch < 1 {
		t.Errorf("TrainedOnly kept epoch %d", res.BestEpoch)
	}
	labels := make([]string, C)
	for i := range labels {
		labels[i] = string(rune('a' + i))
	}
	hm, err := st.HeadModel(info, labels, names, cut)
	if err != nil {
		t.Fatal(err)
	}
	frozen, _ := m.Section(cut, "", true)
	moved := false
	for i, q := range frozen.Params() {
		if !slices.Equal(hm.Backbone.Tensors[q.Name()], q.W) {
			moved = true
		}
		if hm.Backbone.Names[i] != q.Name() || !slices.Equal(hm.Backbone.Shapes[q.Name()], q.Shape) {
			t.Fatalf("tensor %d: %s %v, want %s %v", i, hm.Backbone.Names[i], hm.Backbone.Shapes[q.Name()], q.Name(), q.Shape)
		}
	}
	if !moved || hm.D != st.D || hm.C != C || hm.Backbone.Cut != cut {
		t.Errorf("head model: moved %v, D %d (student %d), C %d, cut %q", moved, hm.D, st.D, hm.C, hm.Backbone.Cut)
	}
}
