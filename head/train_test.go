package head

import (
	"context"
	"encoding/json"
	"fmt"
	"hash/fnv"
	"math"
	"strings"
	"testing"
	"unsafe"

	"finetuner/kernels"
)

// blobs makes C Gaussian clusters in D dimensions, n per class, with the given spread.
func blobs(C, n, D int, spread float64, seed uint64) *Dataset {
	rng := kernels.NewRNG(seed)
	centers := make([]float64, C*D)
	for i := range centers {
		centers[i] = rng.Normal() * 2
	}
	ds := &Dataset{N: C * n, D: D}
	for c := 0; c < C; c++ {
		ds.Labels = append(ds.Labels, fmt.Sprintf("class%d", c))
		for i := 0; i < n; i++ {
			for k := 0; k < D; k++ {
				ds.X = append(ds.X, float32(centers[c*D+k]+spread*rng.Normal()+5))
			}
			ds.Y = append(ds.Y, int32(c))
		}
	}
	return ds
}

func TestTrainConverges(t *testing.T) {
	ds := blobs(4, 60, 16, 0.7, 1)
	for _, arch := range []Arch{{}, {Hidden: []int{32}}, {Hidden: []int{24, 16}, Activation: "gelu", Dropout: 0.2}} {
		cfg := Config{Arch: arch, Epochs: 40, LR: 3e-3, ValFraction: 0.25, Seed: 7}
		var epochs, steps int
		var first, last Event
		m, rep, err := Train(context.Background(), ds, cfg, nil, func(e Event) {
			switch e.Kind {
			case "epoch":
				if epochs == 0 {
					first = e
				}
				last = e
				epochs++
			case "step":
				steps++
			}
		})
		if err != nil {
			t.Fatal(err)
		}
		if rep.ValAcc < 0.95 {
			t.Fatalf("%s %v: val accuracy %.3f, want ≥ 0.95", arch.Kind(), arch.Hidden, rep.ValAcc)
		}
		if !(last.TrainLoss < first.TrainLoss/2) {
			t.Fatalf("%s: train loss went %v → %v", arch.Kind(), first.TrainLoss, last.TrainLoss)
		}
		if epochs != rep.Epochs || steps == 0 || rep.NVal != 60 || rep.NTrain != 180 {
			t.Fatalf("events: %d epochs (report %d), %d steps, nVal %d nTrain %d", epochs, rep.Epochs, steps, rep.NVal, rep.NTrain)
		}
		// Predict agrees with the report's accuracy on the evaluated rows.
		probs := make([]float32, ds.N*m.C)
		if err := m.Predict(probs, ds.X, ds.N); err != nil {
			t.Fatal(err)
		}
		for i, r := range rep.EvalIndex {
			if got := Argmax(probs[int(r)*m.C : int(r)*m.C+m.C]); int32(got) != rep.EvalPred[i] {
				t.Fatalf("row %d: Predict says %d, report %d", r, got, rep.EvalPred[i])
			}
		}
		t.Logf("%s %v: val acc %.3f in %d epochs (best %d)", arch.Kind(), arch.Hidden, rep.ValAcc, rep.Epochs, rep.BestEpoch)
	}
}

// TestModelGradCheck checks the whole head's backward pass (MLP, both activations) against
// central differences of the loss, through the kernels' shared helper idea: float64 differences
// of the float32 forward.
func TestModelGradCheck(t *testing.T) {
	for _, act := range []string{"relu", "gelu"} {
		rng := kernels.NewRNG(3)
		m, err := NewModel(Arch{Hidden: []int{6, 5}, Activation: act}, 7, []string{"a", "b", "c"}, &rng)
		if err != nil {
			t.Fatal(err)
		}
		for i := range m.Params {
			m.Params[i] = 2*rng.Float32() - 1 // non-zero biases too
		}
		n := 5
		ws := m.newWorkspace(n, true)
		for i := range ws.x[:n*m.D] {
			ws.x[i] = 2*rng.Float32() - 1
		}
		y := []int32{0, 1, 2, 1, 0}
		cw := []float32{1, 2, 0.5}
		loss := func() float64 {
			logits := m.forward(ws, n, false, nil)
			return kernels.SoftmaxCrossEntropyForward(ws.probs, logits, y, cw, 0.1, n, m.C)
		}
		loss()
		last := len(m.layers) - 1
		clear(ws.dz[last])
		kernels.SoftmaxCrossEntropyBackward(ws.dz[last][:n*m.C], ws.probs, y, cw, 0.1, n, m.C)
		grads := make([]float32, len(m.Params))
		m.backward(ws, grads, n)
		worst := 0.0
		for i := range m.Params {
			orig := m.Params[i]
			h := float32(1e-2)
			m.Params[i] = orig + h
			lp := loss()
			m.Params[i] = orig - h
			lm := loss()
			m.Params[i] = orig
			num := (lp - lm) / (float64(orig+h) - float64(orig-h))
			d := math.Abs(num - float64(grads[i]))
			worst = math.Max(worst, d)
			if d > 2e-3+2e-2*math.Abs(num) {
				t.Fatalf("%s: param %d: analytic %v numeric %v", act, i, grads[i], num)
			}
		}
		t.Logf("%s MLP: max |analytic − numeric| over %d params = %.3g", act, len(m.Params), worst)
	}
}

func TestSplitStratified(t *testing.T) {
	// Classes of 1, 2, 3, 10 and 100 rows.
	var y []int32
	for c, n := range []int{1, 2, 3, 10, 100} {
		for i := 0; i < n; i++ {
			y = append(y, int32(c))
		}
	}
	train, val := Split(y, 5, 0.2, 1)
	if len(train)+len(val) != len(y) {
		t.Fatalf("split lost rows: %d + %d != %d", len(train), len(val), len(y))
	}
	count := func(rows []int32) []int {
		c := make([]int, 5)
		for _, r := range rows {
			c[y[r]]++
		}
		return c
	}
	ct, cv := count(train), count(val)
	want := []int{0, 1, 1, 2, 20}
	for c := range want {
		if cv[c] != want[c] || ct[c] == 0 {
			t.Fatalf("class %d: %d train %d val, want %d val and ≥1 train", c, ct[c], cv[c], want[c])
		}
	}
	t2, v2 := Split(y, 5, 0.2, 1)
	if fmt.Sprint(t2, v2) != fmt.Sprint(train, val) {
		t.Fatal("same seed, different split")
	}
}

// paramsHash is an FNV-1a hash of the parameter bits.
func paramsHash(p []float32) uint64 {
	h := fnv.New64a()
	h.Write(unsafe.Slice((*byte)(unsafe.Pointer(&p[0])), 4*len(p)))
	return h.Sum64()
}

// TestDeterministic trains twice with one seed and expects identical bits; the hash is pinned so
// that the native and the wasm runs of this test must agree with each other too. The SIMD128
// build's gemm adds in another order, so it has its own pinned hash (same seed, same bits within
// that build), and its validation loss must stay within 1e-6 (relative) of the scalar one.
func TestDeterministic(t *testing.T) {
	ds := blobs(3, 40, 10, 1.5, 2)
	cfg := Config{Arch: Arch{Hidden: []int{16}, Activation: "gelu", Dropout: 0.1}, Epochs: 5, Seed: 42, ValFraction: 0.2, ClassWeighting: true, LabelSmoothing: 0.05}
	m1, r1, err := Train(context.Background(), ds, cfg, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m2, _, _ := Train(context.Background(), ds, cfg, nil, nil)
	h1, h2 := paramsHash(m1.Params), paramsHash(m2.Params)
	if h1 != h2 {
		t.Fatalf("same seed, different weights: %#x vs %#x", h1, h2)
	}
	cfg.Seed = 43
	m3, _, _ := Train(context.Background(), ds, cfg, nil, nil)
	if paramsHash(m3.Params) == h1 {
		t.Fatal("a different seed gave the same weights")
	}
	want := map[string]uint64{"scalar": 0x98905ddcaa9d7f57, "simd128": 0x9f990e8c88fe8fc6}[kernels.SIMD]
	t.Logf("%s kernels: weights hash %#x, val loss %.9g", kernels.SIMD, h1, r1.ValLoss)
	if h1 != want {
		t.Fatalf("weights hash %#x, want %#x (every build of one kernel path must agree bit for bit)", h1, want)
	}
	const scalarValLoss = 1.56087868
	if d := math.Abs(r1.ValLoss-scalarValLoss) / scalarValLoss; d > 1e-6 {
		t.Fatalf("val loss %.9g is %.2g (relative) from the scalar kernels' %.9g", r1.ValLoss, d, scalarValLoss)
	}
}

func TestStepAllocatesNothing(t *testing.T) {
	ds := blobs(3, 40, 20, 1, 3)
	for _, cfg := range []Config{
		{Epochs: 1, Seed: 1},
		{Arch: Arch{Hidden: []int{8, 8}, Activation: "gelu", Dropout: 0.3}, Optimizer: "sgd", Momentum: 0.9, Epochs: 1, ClipNorm: 1, ClassWeighting: true},
	} {
		tr, _, err := newTrainer(ds, cfg.Defaults())
		if err != nil {
			t.Fatal(err)
		}
		rows := tr.order[:16]
		if a := testing.AllocsPerRun(20, func() { tr.step(rows, 1e-3) }); a != 0 {
			t.Fatalf("a training step allocates %v times", a)
		}
	}
}

func TestPauseResumeCancel(t *testing.T) {
	ds := blobs(3, 50, 8, 1, 4)
	ctl := NewControl()
	steps := 0
	paused := make(chan struct{})
	resume := make(chan struct{})
	done := make(chan struct{})
	var rep *Report
	var m *Model
	go func() {
		defer close(done)
		var err error
		m, rep, err = Train(context.Background(), ds, Config{Epochs: 1000, Seed: 1}, ctl, func(e Event) {
			if e.Kind != "step" {
				return
			}
			steps++
			if steps == 10 {
				ctl.Pause()
				close(paused)
				<-resume
			}
		})
		if err != nil {
			t.Error(err)
		}
	}()
	<-paused
	at := steps
	close(resume)
	// The run is paused at the next step boundary: no step may happen until Resume.
	for i := 0; i < 3; i++ {
		if steps != at {
			t.Fatalf("ran %d steps while paused", steps-at)
		}
	}
	ctl.Resume()
	ctl.Cancel()
	<-done
	if rep == nil || !rep.Cancelled || rep.Epochs >= 1000 || m == nil {
		t.Fatalf("cancel: report %+v", rep)
	}
}

func TestTrainRejectsBadData(t *testing.T) {
	good := blobs(2, 5, 3, 1, 5)
	cases := map[string]func(ds *Dataset){
		"no samples":      func(ds *Dataset) { ds.N, ds.X, ds.Y = 0, nil, nil },
		"has no samples":  func(ds *Dataset) { ds.Labels = append(ds.Labels, "empty") },
		"at least 2":      func(ds *Dataset) { ds.Labels = ds.Labels[:1]; ds.N, ds.X, ds.Y = 5, ds.X[:15], ds.Y[:5] },
		"is NaN":          func(ds *Dataset) { ds.X[7] = float32(math.NaN()) },
		"is +Inf":         func(ds *Dataset) { ds.X[7] = float32(math.Inf(1)) },
		"outside the":     func(ds *Dataset) { ds.Y[3] = 9 },
		"labels for":      func(ds *Dataset) { ds.Y = ds.Y[:4] },
		"appears twice":   func(ds *Dataset) { ds.Labels[1] = ds.Labels[0] },
		"feature values ": func(ds *Dataset) { ds.X = ds.X[:len(ds.X)-1] },
	}
	for want, mutate := range cases {
		ds := *good
		ds.X = append([]float32(nil), good.X...)
		ds.Y = append([]int32(nil), good.Y...)
		ds.Labels = append([]string(nil), good.Labels...)
		mutate(&ds)
		_, _, err := Train(context.Background(), &ds, Config{Epochs: 1}, nil, nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v", want, err)
		}
	}
	for want, cfg := range map[string]Config{
		"optimizer":     {Optimizer: "rmsprop"},
		"learning rate": {LR: -1},
		"hidden layers": {Arch: Arch{Hidden: []int{4, 4, 4}}},
		"activation":    {Arch: Arch{Hidden: []int{4}, Activation: "tanh"}},
		"validation":    {ValFraction: 1},
	} {
		if _, _, err := Train(context.Background(), good, cfg, nil, nil); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v", want, err)
		}
	}
}

func TestEarlyStoppingRestoresBest(t *testing.T) {
	// Few noisy samples and a large head overfit fast: validation loss turns up, training stops
	// early and the returned weights are those of the best epoch.
	ds := blobs(3, 12, 30, 3, 6)
	var valLoss []float64
	_, rep, err := Train(context.Background(), ds, Config{Arch: Arch{Hidden: []int{128}}, Epochs: 300, LR: 1e-2, Patience: 5, ValFraction: 0.3, Seed: 2, Schedule: "constant"}, nil, func(e Event) {
		if e.Kind == "epoch" {
			valLoss = append(valLoss, e.ValLoss)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if !rep.StoppedEarly || rep.Epochs != rep.BestEpoch+5 {
		t.Fatalf("stopped early %v at %d, best %d", rep.StoppedEarly, rep.Epochs, rep.BestEpoch)
	}
	if math.Abs(rep.ValLoss-valLoss[rep.BestEpoch-1]) > 1e-9 {
		t.Fatalf("final val loss %v, best epoch's %v", rep.ValLoss, valLoss[rep.BestEpoch-1])
	}
}

// TestEventsAreJSON: every event of a run, including tiny epochs that finish within one clock
// tick, must encode as JSON (an infinite rate would not).
func TestEventsAreJSON(t *testing.T) {
	ds := blobs(2, 3, 2, 1, 8)
	for _, probe := range []bool{false, true} {
		var bad error
		progress := func(e Event) {
			if _, err := json.Marshal(e); err != nil && bad == nil {
				bad = err
			}
		}
		var err error
		if probe {
			_, _, err = AutoProbe(context.Background(), ds, Config{Seed: 1}, nil, progress)
		} else {
			_, _, err = Train(context.Background(), ds, Config{Epochs: 50, Seed: 1}, nil, progress)
		}
		if err != nil || bad != nil {
			t.Fatalf("probe=%v: %v / %v", probe, err, bad)
		}
	}
}

func TestSplitGroups(t *testing.T) {
	// 3 classes of 1, 4 and 20 images; every image has 1 to 3 views, its rows interleaved with
	// other images' rows so that a split by row would mix them.
	var y, group []int32
	rng := kernels.NewRNG(7)
	type img struct{ class, views int32 }
	var imgs []img
	for c, n := range []int{1, 4, 20} {
		for i := 0; i < n; i++ {
			imgs = append(imgs, img{int32(c), 1 + int32(rng.Intn(3))})
		}
	}
	for v := int32(0); v < 3; v++ {
		for id, im := range imgs {
			if v < im.views {
				y, group = append(y, im.class), append(group, int32(1000+id))
			}
		}
	}
	train, val := SplitGroups(y, group, 3, 0.25, 3)
	side := map[int32]string{}
	for _, r := range train {
		side[group[r]] = "train"
	}
	views := map[int32]int{}
	for _, r := range val {
		g := group[r]
		if side[g] == "train" {
			t.Fatalf("image %d is on both sides", g)
		}
		side[g] = "val"
		views[g]++
		// The plain view is the image's first row.
		for i := 0; i < int(r); i++ {
			if group[i] == g {
				t.Fatalf("val row %d of image %d is not its first row (%d is)", r, g, i)
			}
		}
	}
	for g, n := range views {
		if n != 1 {
			t.Fatalf("image %d has %d rows in validation, want its plain view only", g, n)
		}
	}
	valImgs := make([]int, 3)
	for g, s := range side {
		if s == "val" {
			valImgs[imgs[g-1000].class]++
		}
	}
	// round(0.25·n) images per class, at least one left for training: 0, 1, 5.
	if fmt.Sprint(valImgs) != "[0 1 5]" {
		t.Fatalf("validation images per class %v, want [0 1 5]", valImgs)
	}
	nTrainRows := 0
	for _, r := range train {
		if side[group[r]] == "train" {
			nTrainRows++
		}
	}
	if len(side) != len(imgs) || nTrainRows != len(train) {
		t.Fatalf("%d of %d images placed", len(side), len(imgs))
	}
	// Without groups it is Split, draw for draw.
	t1, v1 := SplitGroups(y, nil, 3, 0.25, 3)
	t2, v2 := Split(y, 3, 0.25, 3)
	if fmt.Sprint(t1, v1) != fmt.Sprint(t2, v2) {
		t.Fatal("SplitGroups(nil) differs from Split")
	}
}

func TestTrainGroups(t *testing.T) {
	ds := blobs(3, 30, 8, 1.5, 4)
	// Every row gets a near copy (an "augmented view") right after the originals.
	n := ds.N
	ds.Group = make([]int32, 2*n)
	x := append([]float32(nil), ds.X...)
	for i := 0; i < n; i++ {
		ds.Group[i], ds.Group[n+i] = int32(i), int32(i)
		for k := 0; k < ds.D; k++ {
			x = append(x, ds.X[i*ds.D+k]*1.01)
		}
	}
	ds.X, ds.Y, ds.N = x, append(ds.Y, ds.Y...), 2*n
	_, rep, err := Train(context.Background(), ds, Config{Epochs: 3, Seed: 1, ValFraction: 0.2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	// 90 images, 18 in validation with one row each, 72 in training with two.
	if rep.NVal != 18 || rep.NTrain != 144 {
		t.Fatalf("train %d rows, val %d rows; want 144 and 18", rep.NTrain, rep.NVal)
	}
	for _, r := range rep.EvalIndex {
		if int(r) >= n {
			t.Fatalf("validation scored augmented row %d", r)
		}
	}
	if _, _, err := AutoProbe(context.Background(), ds, Config{Seed: 1}, nil, nil); err != nil {
		t.Fatal(err)
	}

	ds.Y[n] = (ds.Y[0] + 1) % 3
	if _, _, err := Train(context.Background(), ds, Config{Epochs: 1}, nil, nil); err == nil || !strings.Contains(err.Error(), "views of one image") {
		t.Fatalf("mixed-class group: %v", err)
	}
	ds.Group = ds.Group[:5]
	if _, _, err := Train(context.Background(), ds, Config{Epochs: 1}, nil, nil); err == nil || !strings.Contains(err.Error(), "group ids") {
		t.Fatalf("short group list: %v", err)
	}
}
