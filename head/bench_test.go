package head

import (
	"testing"

	"finetuner/kernels"
)

// The workloads of the speed goals: W1 N=1000 D=1280 Dense(10), Adam lr 1e-3, batch 32; W2 the
// same data through Dense(100, relu) → Dense(10); W2tm Teachable Machine's head, Dense(100, relu)
// → Dense(10, no bias), batch 16; W3 N=10000 Dense(10); W4 N=50000 D=480 Dense(20).
// One benchmark iteration is one epoch over all N rows (no validation split), allocation-free.
var workloads = []struct {
	name    string
	N, D, C int
	arch    Arch
	batch   int
}{
	{"W1", 1000, 1280, 10, Arch{}, 32},
	{"W2", 1000, 1280, 10, Arch{Hidden: []int{100}, Activation: "relu"}, 32},
	{"W2tm", 1000, 1280, 10, Arch{Hidden: []int{100}, Activation: "relu", NoOutputBias: true}, 16},
	{"W3", 10000, 1280, 10, Arch{}, 32},
	{"W4", 50000, 480, 20, Arch{}, 32},
}

func randomDataset(N, D, C int, seed uint64) *Dataset {
	rng := kernels.NewRNG(seed)
	ds := &Dataset{N: N, D: D, X: make([]float32, N*D), Y: make([]int32, N)}
	for i := range ds.X {
		ds.X[i] = rng.Float32()
	}
	for i := range ds.Y {
		ds.Y[i] = int32(i % C)
	}
	for c := 0; c < C; c++ {
		ds.Labels = append(ds.Labels, string(rune('a'+c)))
	}
	return ds
}

func BenchmarkEpoch(b *testing.B) {
	for _, w := range workloads {
		b.Run(w.name, func(b *testing.B) {
			ds := randomDataset(w.N, w.D, w.C, 1)
			cfg := Config{Arch: w.arch, BatchSize: w.batch, Epochs: 1, Seed: 1}.Defaults()
			tr, _, err := newTrainer(ds, cfg)
			if err != nil {
				b.Fatal(err)
			}
			n := len(tr.ytr)
			dims := tr.m.dims()
			var flops float64 // per row: forward and dW products, and dX for all but the first layer
			for i := 0; i+1 < len(dims); i++ {
				f := 6.0
				if i == 0 {
					f = 4
				}
				flops += f * float64(dims[i]*dims[i+1])
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tr.rng.Shuffle(tr.order)
				for s := 0; s < n; s += w.batch {
					tr.step(tr.order[s:min(s+w.batch, n)], 1e-3)
				}
			}
			sec := b.Elapsed().Seconds() / float64(b.N)
			b.ReportMetric(sec*1000, "ms/epoch")
			b.ReportMetric(flops*float64(n)/sec/1e9, "GFLOP/s")
			b.ReportMetric(0, "ns/op")
		})
	}
}
