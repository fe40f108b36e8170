package backbone

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"finetuner/kernels"
)

// loadAt loads a converted backbone with its input size changed (the graph compiles at any size),
// so that finite differences through the whole network stay cheap.
func loadAt(t *testing.T, id string, size int) *Model {
	t.Helper()
	dir := filepath.Join(modelsDir(t), id)
	mj, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := Load(os.DirFS(modelsDir(t)), id)
	if err != nil {
		t.Fatal(err)
	}
	info := m.Info()
	info.InputSize, info.Dim = size, 0
	m, err = LoadGraphModel(mj, func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, p)) }, &info)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func randImage(rng *kernels.RNG, n int, lo, hi float32) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = lo + (hi-lo)*rng.Float32()
	}
	return x
}

// TestSectionForward: the whole graph as one section gives Forward's features bit for bit, and
// the last blocks fed the cut's activations give them too.
func TestSectionForward(t *testing.T) {
	for _, id := range []string{"centernet", "mobilenetv2"} {
		m := loadAt(t, id, map[string]int{"centernet": 64, "mobilenetv2": 224}[id])
		h, w, c := m.InputShape()
		rng := kernels.NewRNG(7)
		r := m.Info().InputRange
		x := randImage(&rng, h*w*c, r[0], r[1])
		want := make([]float32, m.Dim())
		if err := m.Forward(want, x); err != nil {
			t.Fatal(err)
		}
		pool := func(out []float32, sh []int) []float32 {
			if m.Info().Pool != "mean" {
				return out
			}
			f := make([]float32, sh[2])
			kernels.MeanHW(f, out, sh[0], sh[1], sh[2])
			return f
		}
		full, err := m.Section("", "", false)
		if err != nil {
			t.Fatal(err)
		}
		got := pool(full.Forward(x), full.OutShape())
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: whole-graph section feature %d = %v, Forward gives %v", id, i, got[i], want[i])
			}
		}
		cut, blocks, err := m.FinetuneCut(2)
		if err != nil {
			t.Fatal(err)
		}
		below, err := m.Section("", cut, false)
		if err != nil {
			t.Fatal(err)
		}
		top, err := m.Section(cut, "", true)
		if err != nil {
			t.Fatal(err)
		}
		got = pool(top.Forward(below.Forward(x)), top.OutShape())
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: split at %s: feature %d = %v, want %v", id, cut, i, got[i], want[i])
			}
		}
		t.Logf("%s: blocks %v, cut %s (%v), %d trainable tensors", id, blocks, cut, below.OutShape(), len(top.Params()))
	}
}

// TestSectionGradCheck checks Section.Backward against central differences of the pooled
// features' dot product with a random vector: the input gradient through the whole network (the
// attack) and the weight gradients of the last two blocks (fine-tuning), on both backbones. Each
// op's backward is checked element by element in package kernels; through a whole network of
// float32 ReLU6 and hard-swish kinks, single coordinates are too noisy, so this compares
// directional derivatives along random directions (all inputs, or all trainable weights, at once),
// at the best of three step sizes.
func TestSectionGradCheck(t *testing.T) {
	for _, id := range []string{"centernet", "mobilenetv2"} {
		m := loadAt(t, id, map[string]int{"centernet": 96, "mobilenetv2": 224}[id])
		cut, _, err := m.FinetuneCut(2)
		if err != nil {
			t.Fatal(err)
		}
		r := m.Info().InputRange
		h, w, c := m.InputShape()
		for _, tc := range []struct {
			from      string
			trainable bool
		}{{"", false}, {cut, true}} {
			s, err := m.Section(tc.from, "", tc.trainable)
			if err != nil {
				t.Fatal(err)
			}
			rng := kernels.NewRNG(11)
			x := randImage(&rng, h*w*c, r[0], r[1])
			if tc.from != "" {
				below, _ := m.Section("", cut, false)
				x = append([]float32(nil), below.Forward(x)...)
			}
			sh := s.OutShape()
			C := sh[len(sh)-1]
			rv := randImage(&rng, C, -1, 1)
			feat := make([]float32, C)
			loss := func() float64 {
				out := s.Forward(x)
				if m.Info().Pool == "mean" {
					kernels.MeanHW(feat, out, sh[0], sh[1], sh[2])
				} else {
					copy(feat, out)
				}
				var l float64
				for i, v := range feat {
					l += float64(v) * float64(rv[i])
				}
				return l
			}
			loss()
			dout := make([]float32, len(s.vals[s.to]))
			if m.Info().Pool == "mean" {
				kernels.MeanHWBackward(dout, rv, sh[0], sh[1], sh[2])
			} else {
				copy(dout, rv)
			}
			s.ZeroGrad()
			dx := append([]float32(nil), s.Backward(dout)...)
			params, grads := [][]float32{x}, [][]float32{dx}
			what := "input"
			if tc.trainable {
				params, grads, what = nil, nil, "weights"
				for _, p := range s.Params() {
					params, grads = append(params, p.W), append(grads, p.G)
				}
			}
			off := 0 // directions off by more than 5%: one is allowed (a kink crossed)
			for dir := 0; dir < 3; dir++ {
				// v: a random direction scaled to each tensor's typical magnitude.
				vs := make([][]float32, len(params))
				var analytic float64
				for pi, p := range params {
					sc := scaleOf(p)
					if !tc.trainable {
						sc = (r[1] - r[0]) / 255 // one grey level
					}
					vs[pi] = randImage(&rng, len(p), -sc, sc)
					for i, g := range grads[pi] {
						analytic += float64(g) * float64(vs[pi][i])
					}
				}
				orig := make([][]float32, len(params))
				for pi, p := range params {
					orig[pi] = append([]float32(nil), p...)
				}
				at := func(eps float32) float64 {
					for pi, p := range params {
						for i := range p {
							p[i] = orig[pi][i] + eps*vs[pi][i]
						}
					}
					return loss()
				}
				best := math.Inf(1)
				var bestNum float64
				for _, eps := range []float32{1e-1, 3e-2, 1e-2, 3e-3} {
					num := (at(eps) - at(-eps)) / float64(2*eps)
					if e := math.Abs(num-analytic) / math.Abs(analytic); e < best {
						best, bestNum = e, num
					}
				}
				at(0)
				t.Logf("%s %s (from %q): direction %d: analytic %.6g, numeric %.6g, relative error %.2g", id, what, tc.from, dir, analytic, bestNum, best)
				if best > 0.05 {
					off++
				}
				if best > 0.2 || off > 1 {
					t.Fatalf("%s %s: directional derivative %.6g, finite differences %.6g", id, what, analytic, bestNum)
				}
			}
		}
	}
}

// scaleOf is the mean |v|, the scale of a tensor's finite-difference direction.
func scaleOf(v []float32) float32 {
	var s float64
	for _, x := range v {
		s += math.Abs(float64(x))
	}
	if s == 0 {
		return 1
	}
	return float32(s / float64(len(v)))
}

// TestWithWeights: a model given a trained section's tensors computes what the section computes,
// the original model is untouched, and tensors that do not fit are refused with the reason.
func TestWithWeights(t *testing.T) {
	m := loadAt(t, "centernet", 64)
	cut, _, err := m.FinetuneCut(1)
	if err != nil {
		t.Fatal(err)
	}
	below, _ := m.Section("", cut, false)
	top, _ := m.Section(cut, "", true)
	tensors := map[string][]float32{}
	for i, p := range top.Params() {
		for k := range p.W {
			p.W[k] *= 1 + 0.01*float32(i%3)
		}
		tensors[p.Name()] = p.W
	}
	h, w, c := m.InputShape()
	rng := kernels.NewRNG(3)
	x := randImage(&rng, h*w*c, 0, 255)
	before := make([]float32, m.Dim())
	if err := m.Forward(before, x); err != nil {
		t.Fatal(err)
	}
	ft, err := m.WithWeights(tensors)
	if err != nil {
		t.Fatal(err)
	}
	got := make([]float32, m.Dim())
	if err := ft.Forward(got, x); err != nil {
		t.Fatal(err)
	}
	sh := top.OutShape()
	want := make([]float32, sh[2])
	kernels.MeanHW(want, top.Forward(below.Forward(x)), sh[0], sh[1], sh[2])
	again := make([]float32, m.Dim())
	m.Forward(again, x)
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("feature %d: model with the tensors %v, section %v", i, got[i], want[i])
		}
		if again[i] != before[i] {
			t.Fatalf("feature %d of the original model changed: %v → %v", i, before[i], again[i])
		}
	}
	for name, bad := range map[string]map[string][]float32{
		"does not have":  {"backbone.no/such/node.weight": {1}},
		"has 1 values":   {top.Params()[0].Name(): {1}},
		"not a backbone": {"layer0.weight": {1}},
	} {
		if _, err := m.WithWeights(bad); err == nil || !strings.Contains(err.Error(), name) {
			t.Errorf("%s: got %v", name, err)
		}
	}
}
