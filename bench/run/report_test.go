//go:build !js

package main

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGoal(t *testing.T) {
	for _, c := range []struct {
		ratio, want float64
		higher      bool
		has         string
	}{
		{3, 2.5, true, "**met**"},
		{2, 2.5, true, "**missed** (ours needs 20% less time)"},
		{2, 2.5, false, "**met**"},
		{5, 2.5, false, "**missed** (ours needs 50% less time)"},
		{1, 0, true, "—"},
	} {
		if g := goal(c.ratio, c.want, c.higher); !strings.Contains(g, c.has) {
			t.Errorf("goal(%v, %v, %v) = %q, want it to contain %q", c.ratio, c.want, c.higher, g, c.has)
		}
	}
}

func TestMedian(t *testing.T) {
	if m := median([]float64{5, 1, 3}); m != 3 {
		t.Errorf("median of 5,1,3 = %v", m)
	}
	if m := median([]float64{4, 1, 3, 2}); m != 2.5 {
		t.Errorf("median of 4,1,3,2 = %v", m)
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of nothing must be NaN")
	}
}

func TestCategory(t *testing.T) {
	for p, want := range map[string]string{
		"/public/models/centernet/weights.bin": "weights",
		"/public/models/manifest.json":         "model json",
		"/public/build/trainer.wasm":           "wasm",
		"/js/main.js":                          "js",
		"/":                                    "html",
		"/public/demo/birds/a.png":             "demo set",
	} {
		if got := category(p); got != want {
			t.Errorf("category(%q) = %q, want %q", p, got, want)
		}
	}
}

// results builds a two-engine result for one workload with the given training accuracies.
func results(oursMs, tfMs, oursAcc, tfAcc, loss float64) (*Results, *Plan) {
	w := Workload{Name: "W1", N: 1000, D: 1280, Classes: 10, Batch: 32, Epochs: 2, Goal: 2.5}
	p := &Plan{}
	p.Heads = &struct {
		Workloads []Workload `json:"workloads"`
		Engines   []string   `json:"engines"`
		Reps      int        `json:"reps"`
	}{[]Workload{w}, []string{"ours", "tfjs-wasm", "tfjs-cpu"}, 1}
	run := func(ms, acc float64) []HeadRun {
		return []HeadRun{{TrainMs: 2 * ms, MsPerEpoch: ms, LastEpochLoss: loss, LastEpochAcc: acc, EvalLoss: loss, EvalAcc: acc}}
	}
	r := &Results{Heads: []HeadResult{{Workload: w,
		Runs: map[string][]HeadRun{"ours": run(oursMs, oursAcc), "tfjs-wasm": run(tfMs, tfAcc), "tfjs-cpu": run(3*tfMs, tfAcc)},
		Summary: map[string]Stat{"ours": {Median: oursMs, Min: oursMs}, "tfjs-wasm": {Median: tfMs, Min: tfMs},
			"tfjs-cpu": {Median: 3 * tfMs, Min: 3 * tfMs}}}}}
	return r, p
}

func TestCheck(t *testing.T) {
	if r, p := results(50, 150, 0.9, 0.88, 0.3); check(r, p) != nil {
		t.Errorf("good results refused: %v", check(r, p))
	}
	if r, p := results(50, 150, 0.9, 0.4, 0.3); check(r, p) == nil {
		t.Error("engines 50 points apart in accuracy were accepted as the same work")
	}
	if r, p := results(50, 150, 0.9, 0.9, math.NaN()); check(r, p) == nil {
		t.Error("a NaN loss was accepted")
	}
	if r, p := results(0, 150, 0.9, 0.9, 0.3); check(r, p) == nil {
		t.Error("a zero time was accepted")
	}
	r, p := results(50, 150, 0.9, 0.9, 0.3)
	r.Heads[0].Runs["tfjs-cpu"] = nil
	if check(r, p) == nil {
		t.Error("a missing engine was accepted")
	}
}

func TestReportAndPlot(t *testing.T) {
	r, _ := results(50, 150, 0.9, 0.88, 0.3)
	md := report(r)
	for _, want := range []string{"| W1 | 2 | 50.0 (50.0) | 150 (150) | 450 (450) | **3.00×** | 9.00× | ≥2.5×: **met** |", "ms-per-epoch.png", "./build.sh bench"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
	png := filepath.Join(t.TempDir(), "p.png")
	if err := plotHeads(png, r.Heads); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(png)
	if err != nil || len(b) < 1000 || string(b[1:4]) != "PNG" {
		t.Fatalf("plot: %d bytes, %v", len(b), err)
	}
}
