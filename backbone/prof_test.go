package backbone

import (
	"os"
	"testing"
	"time"
)

// TestProfileSteps prints where one forward pass spends its time, by kind of step, with GFLOP/s
// for the convolutions: FINETUNER_PROFILE=centernet go test -run ProfileSteps -v ./backbone
// (add GOOS=js GOARCH=wasm for the wasm numbers).
func TestProfileSteps(t *testing.T) {
	id := os.Getenv("FINETUNER_PROFILE")
	if id == "" {
		t.Skip("FINETUNER_PROFILE not set")
	}
	m, err := Load(os.DirFS(modelsDir(t)), id)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 224*224*3)
	copy(m.buf(m.g.inBuf), x)
	m.run()
	dur := map[string]time.Duration{}
	flops := map[string]float64{}
	const reps = 5
	for r := 0; r < reps; r++ {
		for i := range m.g.steps {
			s := &m.g.steps[i]
			save := m.g.steps
			m.g.steps = m.g.steps[i : i+1]
			t0 := time.Now()
			m.run()
			d := time.Since(t0)
			m.g.steps = save
			key := [...]string{"conv", "dw", "bin", "unary", "mean", "avgpool", "hswish"}[s.kind]
			if s.kind == opConv {
				if s.KH == 1 {
					key = "conv1x1"
				}
				flops[key] += float64(2 * s.OH * s.OW * s.KH * s.KW * s.C * s.OC)
			}
			if s.kind == opDepthwise {
				key = map[int]string{3: "dw3", 5: "dw5"}[s.KH] + map[int]string{1: "s1", 2: "s2"}[s.stride]
				flops[key] += float64(2 * s.OH * s.OW * s.KH * s.KW * s.C)
			}
			dur[key] += d
		}
	}
	var total time.Duration
	for _, d := range dur {
		total += d
	}
	t.Logf("%s: %.1f ms per image in %d steps", id, total.Seconds()*1000/reps, len(m.g.steps))
	for k, d := range dur {
		ms := d.Seconds() * 1000 / reps
		flops[k] /= reps
		t.Logf("%-8s %7.2f ms  %6.0f MFLOP  %.2f GFLOP/s", k, ms, flops[k]/1e6, flops[k]/(ms*1e6))
	}
}
