package backbone

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"testing"
	"time"

	"finetuner/kernels"
)

// TestProfileSteps prints where one forward pass spends its time, by kind of step, with GFLOP/s
// for the convolutions: FINETUNER_PROFILE=centernet go test -run ProfileSteps -v ./backbone
// (add GOOS=js GOARCH=wasm for the wasm numbers, and run the go command through simd_go from
// scripts/lib-simd.sh for the SIMD128 kernels). Each step is timed alone, FINETUNER_PROFILE_REPS
// times (default 20), and its median kept; the clock is the process's CPU time (getrusage, or
// process.cpuUsage under Node), which
// other load on the machine disturbs less than the wall clock.
func TestProfileSteps(t *testing.T) {
	id := os.Getenv("FINETUNER_PROFILE")
	if id == "" {
		t.Skip("FINETUNER_PROFILE not set")
	}
	reps := 20
	if r, err := strconv.Atoi(os.Getenv("FINETUNER_PROFILE_REPS")); err == nil && r > 0 {
		reps = r
	}
	m, err := Load(os.DirFS(modelsDir(t)), id)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 224*224*3)
	for i := range x {
		x[i] = m.info.InputRange[0] + (m.info.InputRange[1]-m.info.InputRange[0])*float32(i%251)/251
	}
	copy(m.buf(m.g.inBuf), x)
	m.run()
	clock := func() float64 { return float64(time.Now().UnixNano()) / 1e9 }
	if cpuSeconds() > 0 {
		clock = cpuSeconds
	}
	dur := map[string]float64{}
	flops := map[string]float64{}
	count := map[string]int{}
	steps := m.g.steps
	for i := range steps {
		s := &steps[i]
		key := [...]string{"conv", "dw", "bin", "unary", "mean", "avgpool", "hswish"}[s.kind]
		var f float64
		switch s.kind {
		case opConv:
			if s.KH == 1 && s.KW == 1 {
				key = "conv1x1"
			} else {
				key = fmt.Sprintf("conv%dx%ds%d", s.KH, s.KW, s.stride)
			}
			f = float64(2 * s.OH * s.OW * s.KH * s.KW * s.C * s.OC)
		case opDepthwise:
			key = fmt.Sprintf("dw%dx%ds%d", s.KH, s.KW, s.stride)
			f = float64(2 * s.OH * s.OW * s.KH * s.KW * s.C)
		}
		ts := make([]float64, reps)
		m.g.steps = steps[i : i+1]
		for r := range ts {
			t0 := clock()
			m.run()
			ts[r] = clock() - t0
		}
		m.g.steps = steps
		sort.Float64s(ts)
		dur[key] += ts[reps/2]
		flops[key] += f
		count[key]++
	}
	var total float64
	keys := make([]string, 0, len(dur))
	for k, d := range dur {
		total += d
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return dur[keys[i]] > dur[keys[j]] })
	t.Logf("%s (%s): %.1f ms per image in %d steps, medians of %d", id, kernels.SIMD, total*1000, len(steps), reps)
	t.Logf("%-10s %5s %8s %6s %7s %9s", "step", "count", "ms", "share", "MFLOP", "GFLOP/s")
	for _, k := range keys {
		ms := dur[k] * 1000
		line := fmt.Sprintf("%-10s %5d %8.2f %5.1f%%", k, count[k], ms, 100*dur[k]/total)
		if flops[k] > 0 {
			line += fmt.Sprintf(" %7.0f %9.2f", flops[k]/1e6, flops[k]/(ms*1e6))
		}
		t.Log(line)
	}
}
