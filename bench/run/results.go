//go:build !js

package main

import (
	"encoding/json"
	"fmt"
	"math"
)

// Results is everything one benchmark run measured; the page fills all but Weight and Machine.
type Results struct {
	Machine Machine `json:"machine"`
	Smoke   bool    `json:"smoke"`
	Env     struct {
		TFJS                string `json:"tfjs"`
		TFJSWasm            string `json:"tfjsWasm"`
		WasmSIMD            bool   `json:"wasmSIMD"`
		WasmThreads         bool   `json:"wasmThreads"`
		CrossOriginIsolated bool   `json:"crossOriginIsolated"`
		HardwareConcurrency int    `json:"hardwareConcurrency"`
		UserAgent           string `json:"userAgent"`
		GoVersion           string `json:"goVersion"`
		GoKernels           string `json:"goKernels"` // "simd128" or "scalar"
	} `json:"env"`
	Heads     []HeadResult     `json:"heads,omitempty"`
	TTQ       []TTQResult      `json:"ttq,omitempty"`
	Gemm      []GemmResult     `json:"gemm,omitempty"`
	Backbones []BackboneResult `json:"backbones,omitempty"`
	Scale     *ScaleResult     `json:"scale,omitempty"`
	Weight    *Weight          `json:"weight,omitempty"`
	Extract   []ExtractRun     `json:"extract,omitempty"`
	TotalMs   float64          `json:"totalMs"`
	// TFJSWasmBinary is the tfjs .wasm file(s) the page fetched (the SIMD build, or not).
	TFJSWasmBinary string `json:"tfjsWasmBinary"`
	// Raw is the page's answer as it came, every curve and event included.
	Raw json.RawMessage `json:"page,omitempty"`
}

// HeadRun is one timed training run of one engine.
type HeadRun struct {
	TrainMs       float64   `json:"trainMs"` // call → end of the last epoch
	WallMs        float64   `json:"wallMs"`  // call → return (ours includes its final evaluation)
	MsPerEpoch    float64   `json:"msPerEpoch"`
	EpochMs       []float64 `json:"epochMs"`
	LastEpochLoss float64   `json:"lastEpochLoss"` // mean training loss over the last epoch
	LastEpochAcc  float64   `json:"lastEpochAcc"`
	EvalLoss      float64   `json:"evalLoss"` // on the whole training set after training
	EvalAcc       float64   `json:"evalAcc"`
	// CPUMs is the renderer's CPU time over the whole call (final evaluation included).
	CPUMs         float64 `json:"cpuMs"`
	CPUMsPerEpoch float64 `json:"cpuMsPerEpoch"`
}

// Stat summarises an engine's runs.
type Stat struct {
	Median        float64 `json:"median"`
	Min           float64 `json:"min"`
	SteadyEpochMs float64 `json:"steadyEpochMs"` // median of epochs 2.. of every run
	FinalAcc      float64 `json:"finalAcc,omitempty"`
	CPUMedian     float64 `json:"cpuMedian"` // median renderer CPU ms (per epoch for heads, per run for TTQ)
}

// HeadResult is one workload.
type HeadResult struct {
	Workload Workload             `json:"workload"`
	Runs     map[string][]HeadRun `json:"runs"`
	Summary  map[string]Stat      `json:"summary"`
}

// TTQRun is one time-to-quality run.
type TTQRun struct {
	Ms       float64 `json:"ms"` // until validation accuracy is within tol of its final value
	FinalAcc float64 `json:"finalAcc"`
	Epoch    int     `json:"epoch,omitempty"`
	TotalMs  float64 `json:"totalMs,omitempty"`
	FirstMs  float64 `json:"firstMs,omitempty"` // probe: its first head
	CPUMs    float64 `json:"cpuMs"`
	Curve    []struct {
		Epoch  int     `json:"epoch"`
		ValAcc float64 `json:"valAcc"`
		Ms     float64 `json:"ms"`
	} `json:"curve,omitempty"` // per epoch for the TM recipe; per head handed over for the probe
	Lambda float64 `json:"lambda,omitempty"`
	Iters  int     `json:"iters,omitempty"`
}

// TTQResult is the time-to-quality part.
type TTQResult struct {
	Source  string              `json:"source"`
	Epochs  int                 `json:"epochs"`
	Batch   int                 `json:"batch"`
	NTrain  int                 `json:"nTrain"`
	NVal    int                 `json:"nVal"`
	Classes int                 `json:"classes"`
	D       int                 `json:"d"`
	Runs    map[string][]TTQRun `json:"runs"`
	Summary map[string]Stat     `json:"summary"`
}

// BackboneResult is one backbone at batch 1 and 8.
type BackboneResult struct {
	ID         string  `json:"id"`
	Dim        int     `json:"dim"`
	InputSize  int     `json:"inputSize"`
	MaxRelDiff float64 `json:"maxRelDiff"`
	Photo      string  `json:"photo"`
	Batches    map[string]map[string]struct {
		Median      float64   `json:"median"`
		Min         float64   `json:"min"`
		Runs        []float64 `json:"runs"`
		CPUPerImage float64   `json:"cpuPerImage"`
	} `json:"batches"`
}

// ScaleRun is one training run of the scale part.
type ScaleRun struct {
	N         int     `json:"n"`
	OK        bool    `json:"ok"`
	Error     string  `json:"error,omitempty"`
	TrainMs   float64 `json:"trainMs"`
	GenMs     float64 `json:"genMs"`
	ValAcc    float64 `json:"valAcc"`
	TrainLoss float64 `json:"trainLoss"`
	JSBytes   float64 `json:"jsBytes"`
	WasmBytes float64 `json:"wasmBytes"`
	GoHeap    struct {
		HeapAlloc float64 `json:"heapAlloc"`
		HeapSys   float64 `json:"heapSys"`
		Sys       float64 `json:"sys"`
	} `json:"goHeap"`
}

// ScaleResult is the scale part.
type ScaleResult struct {
	Engine       string     `json:"engine"`
	D            int        `json:"d"`
	Classes      int        `json:"classes"`
	Epochs       int        `json:"epochs"`
	Sizes        []ScaleRun `json:"sizes"`
	Search       []ScaleRun `json:"search"`
	LargestOK    int        `json:"largestOK"`
	FirstFailure int        `json:"firstFailure"`
}

// check refuses results that cannot be right: missing parts, non-finite or non-positive times,
// and engines that did visibly different work (final training accuracy far apart).
func check(r *Results, p *Plan) error {
	if p.Heads != nil {
		if len(r.Heads) != len(p.Heads.Workloads) {
			return fmt.Errorf("heads: %d workloads came back, want %d", len(r.Heads), len(p.Heads.Workloads))
		}
		for _, h := range r.Heads {
			for _, e := range p.Heads.Engines {
				runs := h.Runs[e]
				if len(runs) != p.Heads.Reps {
					return fmt.Errorf("%s %s: %d runs, want %d", h.Workload.Name, e, len(runs), p.Heads.Reps)
				}
				for _, run := range runs {
					if !(run.MsPerEpoch > 0) || !finite(run.LastEpochLoss) || !finite(run.EvalLoss) {
						return fmt.Errorf("%s %s: bad run %+v", h.Workload.Name, e, run)
					}
				}
			}
			// Same data, model, optimiser and epochs: the fitted heads must agree on the training set.
			ours := median(accs(h.Runs["ours"]))
			for _, e := range p.Heads.Engines {
				if a := median(accs(h.Runs[e])); math.Abs(a-ours) > 0.15 {
					return fmt.Errorf("%s: %s reaches %.1f%% training accuracy, ours %.1f%%: not the same work", h.Workload.Name, e, 100*a, 100*ours)
				}
			}
		}
	}
	if p.TTQ != nil {
		if len(r.TTQ) != len(p.TTQ.Sets) {
			return fmt.Errorf("time to quality: %d results for %d data sets", len(r.TTQ), len(p.TTQ.Sets))
		}
		for _, t := range r.TTQ {
			for _, k := range []string{"probe", "ours-tm", "tfjs-wasm-tm"} {
				if len(t.Runs[k]) != p.TTQ.Reps {
					return fmt.Errorf("time to quality on %s: %d %s runs, want %d", t.Source, len(t.Runs[k]), k, p.TTQ.Reps)
				}
			}
		}
	}
	if p.Backbones != nil && len(r.Backbones) != len(p.Backbones.IDs) {
		return fmt.Errorf("backbones: %d results, want %d", len(r.Backbones), len(p.Backbones.IDs))
	}
	if p.Scale != nil && (r.Scale == nil || len(r.Scale.Sizes) != len(p.Scale.Sizes)) {
		return fmt.Errorf("scale: results missing")
	}
	return nil
}

func accs(runs []HeadRun) []float64 {
	var a []float64
	for _, r := range runs {
		a = append(a, r.EvalAcc)
	}
	return a
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func median(v []float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := append([]float64(nil), v...)
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && s[j] < s[j-1]; j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// GemmResult is one shape of the gemm part (bench/wasm's gemm reply).
type GemmResult struct {
	M, K, N  int
	Kernels  string  `json:"kernels"`
	Reps     int     `json:"reps"`
	Ms       float64 `json:"ms"`
	GFLOPs   float64 `json:"gflops"`    // by wall time
	CPU      float64 `json:"cpuGflops"` // by the renderer's CPU time (NaN becomes 0: unknown)
	MaxError float64 `json:"maxError"`
}
