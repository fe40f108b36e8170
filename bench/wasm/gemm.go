//go:build js && wasm

package main

import (
	"encoding/json"
	"errors"
	"math"
	"syscall/js"
	"time"

	"finetuner/kernels"
	"finetuner/wasm/jsval"
)

// gemmReply is one shape of the gemm benchmark: its speed, and its worst error against the float64
// product as a fraction of the float32 bound K·2⁻²⁴·Σ|a·w| (≤ 1 passes).
type gemmReply struct {
	M, K, N  int
	Kernels  string  `json:"kernels"`
	Reps     int     `json:"reps"`
	Ms       float64 `json:"ms"`
	GFLOPs   float64 `json:"gflops"`
	MaxError float64 `json:"maxError"`
}

// gemm times kernels.ConvGemm with no bias and no activation (the bare gemm the 1×1 convolutions
// and dense layers run on) at a (M,K) by w (N,K), for at least minMs after one warm-up call, and
// checks its output against the float64 product first: gemm(M, K, N, minMs).
func gemm(args []js.Value) (any, error) {
	if len(args) != 4 {
		return nil, errors.New("expects (M, K, N, minMs)")
	}
	var dims [3]int
	for i, name := range []string{"M", "K", "N"} {
		v, err := jsval.Int(args[i], name, 1, 1<<16)
		if err != nil {
			return nil, err
		}
		dims[i] = v
	}
	M, K, N := dims[0], dims[1], dims[2]
	if M*K > 1<<26 || N*K > 1<<26 {
		return nil, errors.New("matrices over 2^26 values")
	}
	minMs, err := jsval.Int(args[3], "minMs", 1, 60000)
	if err != nil {
		return nil, err
	}
	rng := kernels.NewRNG(1)
	a, w, out := make([]float32, M*K), make([]float32, N*K), make([]float32, M*N)
	for i := range a {
		a[i] = 2*rng.Float32() - 1
	}
	for i := range w {
		w[i] = 2*rng.Float32() - 1
	}
	kernels.ConvGemm(out, a, w, nil, M, K, N, kernels.FusedNone)
	r := gemmReply{M: M, K: K, N: N, Kernels: kernels.SIMD}
	for m := 0; m < M; m += max(1, M/64) { // a sample of rows keeps the float64 check short
		for n := 0; n < N; n++ {
			var s, mag float64
			for k := 0; k < K; k++ {
				p := float64(a[m*K+k]) * float64(w[n*K+k])
				s += p
				mag += math.Abs(p)
			}
			r.MaxError = max(r.MaxError, math.Abs(float64(out[m*N+n])-s)/(float64(K+2)*0x1p-24*mag))
		}
	}
	if !(r.MaxError <= 1) {
		return nil, errors.New("the gemm's output is outside the float32 error bound")
	}
	t0 := time.Now()
	for time.Since(t0) < time.Duration(minMs)*time.Millisecond || r.Reps == 0 {
		kernels.ConvGemm(out, a, w, nil, M, K, N, kernels.FusedNone)
		r.Reps++
	}
	r.Ms = time.Since(t0).Seconds() * 1000 / float64(r.Reps)
	r.GFLOPs = 2 * float64(M*K*N) / (r.Ms * 1e6)
	b, err := json.Marshal(r)
	return string(b), err
}
