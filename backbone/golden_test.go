package backbone

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestGolden compares our features with TensorFlow.js's on the same preprocessed photos. It runs
// when FINETUNER_GOLDEN names a directory prepared by scripts/test-backbone.sh (tools/golden writes
// inputs_<id>.f32, tools/tfjs-ref/features.mjs writes ref_<id>.f32) and FINETUNER_MODELS the
// converted models; the script runs it natively and under GOOS=js GOARCH=wasm.
//
// The tolerance is relative to each feature vector's scale: max_i |ours_i - tfjs_i| / max_i |tfjs_i|
// must stay below 1e-3 for every photo.
func TestGolden(t *testing.T) {
	dir, models := os.Getenv("FINETUNER_GOLDEN"), os.Getenv("FINETUNER_MODELS")
	if dir == "" || models == "" {
		t.Skip("FINETUNER_GOLDEN and FINETUNER_MODELS not set (scripts/test-backbone.sh sets them)")
	}
	list, err := os.ReadFile(filepath.Join(dir, "photos.txt"))
	if err != nil {
		t.Fatal(err)
	}
	photos := strings.Fields(string(list))
	for _, id := range []string{"centernet", "mobilenetv2"} {
		m, err := Load(os.DirFS(models), id)
		if err != nil {
			t.Fatal(err)
		}
		in := readF32(t, filepath.Join(dir, "inputs_"+id+".f32"))
		ref := readF32(t, filepath.Join(dir, "ref_"+id+".f32"))
		S, D := m.info.InputSize, m.Dim()
		if len(in) != len(photos)*S*S*3 || len(ref) != len(photos)*D {
			t.Fatalf("%s: %d inputs and %d reference values for %d photos", id, len(in), len(ref), len(photos))
		}
		got := make([]float32, D)
		var worstAbs, worstRel float64
		for i, p := range photos {
			if err := m.Forward(got, in[i*S*S*3:(i+1)*S*S*3]); err != nil {
				t.Fatalf("%s %s: %v", id, p, err)
			}
			want := ref[i*D : (i+1)*D]
			var maxAbs, scale, dot, ng, nw float64
			for k := range want {
				g, w := float64(got[k]), float64(want[k])
				maxAbs = max(maxAbs, math.Abs(g-w))
				scale = max(scale, math.Abs(w))
				dot, ng, nw = dot+g*w, ng+g*g, nw+w*w
			}
			rel := maxAbs / scale
			t.Logf("%-11s %-40s max|diff| %.3g  rel %.3g  cosine %.8f", id, filepath.Base(p), maxAbs, rel, dot/math.Sqrt(ng*nw))
			worstAbs, worstRel = max(worstAbs, maxAbs), max(worstRel, rel)
			if !(rel < 1e-3) {
				t.Errorf("%s %s: features differ from tfjs by %.3g relative (max abs %.3g), want < 1e-3", id, p, rel, maxAbs)
			}
		}
		t.Logf("%s: %d photos, worst max|diff| %.3g, worst relative %.3g (tolerance 1e-3)", id, len(photos), worstAbs, worstRel)
	}
}

func readF32(t *testing.T, path string) []float32 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b)%4 != 0 {
		t.Fatalf("%s: %d bytes is not a whole number of float32s", path, len(b))
	}
	v := make([]float32, len(b)/4)
	for i := range v {
		v[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return v
}
