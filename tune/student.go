package tune

import (
	"context"
	"fmt"
	"math"
	"slices"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/kernels"
)

// Student is a classifier built on a teacher backbone: a linear head on standardised features,
// the features either the teacher's own (a frozen probe: Top is nil) or the output of the last
// blocks, Top, trained together with the head on activations cached below them.
//
//	features f (D) = mean over space of Top's output (Pool) or Top's output, or the cached row
//	logits (C) = W·((f − Mean)/Std) + B,  W (C,D), B (C)
type Student struct {
	Top       *backbone.Section
	Pool      bool
	D, C      int
	Mean, Std []float32
	W, B      []float32
	feat, z   []float32
	dz        []float32
	logits    []float32
}

// Config decides a student's training. The head is first fitted alone (HeadSteps full-batch Adam
// steps at LRHead on the frozen features: the frozen probe), then, if the student has a Top, the
// blocks and the head train together for up to Epochs epochs of mini-batches, keeping the weights
// of the epoch with the lowest validation loss and stopping after Patience epochs without one.
type Config struct {
	HeadSteps  int
	LRHead     float64
	LRBackbone float64
	Epochs     int
	Batch      int
	Patience   int
	Seed       uint64
	// Defence > 0 adds the neuron-distance penalty of Wang et al.: Defence·max(0, Dth − ‖f − t‖)²
	// per image, where t is the teacher's feature vector of that image and Dth = DefenceDist times
	// the teacher features' RMS norm: the student's representation is pushed at least Dth away
	// from the teacher's, so an input crafted to mimic the teacher no longer mimics the student.
	Defence     float64
	DefenceDist float64
	// TrainedOnly picks the best weights among the trained epochs only, as Keras's
	// restore_best_weights does, so the result is always a fine-tuned network; without it the
	// starting weights (the frozen probe, epoch 0) are a candidate too, and on a few dozen photos
	// often win.
	TrainedOnly bool
	// Progress, if set, is called after every epoch of the joint training.
	Progress func(epoch int, valLoss, valAcc float64)
	// Step, if set, is called after every mini-batch of the joint training with the batch's
	// summed cross-entropy loss and its count of correct predictions (before the update). It may
	// block (a paused run) and may cancel the context Train was given (a stopped run).
	Step func(epoch, step, steps, rows int, loss float64, correct int)
}

// DefaultConfig is the recipe the CLI and the tests use.
func DefaultConfig() Config {
	return Config{HeadSteps: 300, LRHead: 1e-2, LRBackbone: 1e-4, Epochs: 15, Batch: 16, Patience: 4, Seed: 1, DefenceDist: 0.5}
}

// Result is what training reports: validation accuracy of the frozen probe (the head alone) and
// of the final student, and the epochs run.
type Result struct {
	ProbeValAcc, ValAcc, ValLoss float64
	Epochs                       int
	BestEpoch                    int // the epoch whose weights were kept (0: the starting ones)
}

func (s *Student) features(row []float32) []float32 {
	if s.Top == nil {
		return row
	}
	out := s.Top.Forward(row)
	if !s.Pool {
		return out
	}
	sh := s.Top.OutShape()
	kernels.MeanHW(s.feat, out, sh[0], sh[1], sh[2])
	return s.feat
}

// Logits returns the student's logits for one cached row (a view valid until the next call).
func (s *Student) Logits(row []float32) []float32 {
	f := s.features(row)
	for i, v := range f[:s.D] {
		s.z[i] = (v - s.Mean[i]) / s.Std[i]
	}
	kernels.LinearForward(s.logits, s.z, s.W, s.B, 1, s.D, s.C)
	return s.logits
}

// Predict returns the class the student gives one cached row.
func (s *Student) Predict(row []float32) int {
	return head.Argmax(s.Logits(row))
}

// Train fits a student on cached rows (Top's input, or the features themselves when top is nil)
// with labels y in 0..C−1, on the rows train, validated on val. teacher holds the teacher's
// feature vector of every row, for the defence. ctx cancels between steps and keeps the best
// weights so far.
func Train(ctx context.Context, top *backbone.Section, pool bool, rows [][]float32, y []int32, C int, train, val []int32, teacher [][]float32, cfg Config) (*Student, Result, error) {
	if len(train) == 0 {
		return nil, Result{}, fmt.Errorf("tune: no training rows")
	}
	s := &Student{Top: top, Pool: pool, C: C}
	feats := make([][]float32, len(rows))
	for _, i := range append(slices.Clone(train), val...) {
		feats[i] = slices.Clone(s.firstFeatures(rows[i]))
	}
	s.D = len(feats[train[0]])
	s.z, s.logits = make([]float32, s.D), make([]float32, C)
	// Standardise with the training rows' statistics of the initial features; fine-tuning keeps them.
	s.Mean, s.Std = make([]float32, s.D), make([]float32, s.D)
	for _, i := range train {
		for d, v := range feats[i] {
			s.Mean[d] += v / float32(len(train))
		}
	}
	for _, i := range train {
		for d, v := range feats[i] {
			s.Std[d] += (v - s.Mean[d]) * (v - s.Mean[d]) / float32(len(train))
		}
	}
	for d := range s.Std {
		s.Std[d] = float32(math.Sqrt(float64(s.Std[d]))) + 1e-3
	}
	s.W, s.B = make([]float32, C*s.D), make([]float32, C)
	var res Result

	// The frozen probe: full-batch Adam on the cached features.
	hp := &adam{}
	dW, dB := make([]float32, len(s.W)), make([]float32, C)
	probs := make([]float32, C)
	for step := 0; step < cfg.HeadSteps; step++ {
		clear(dW)
		clear(dB)
		for _, i := range train {
			s.headGrad(feats[i], y[i], dW, dB, probs, nil, 1/float32(len(train)))
		}
		hp.step([][]float32{s.W, s.B}, [][]float32{dW, dB}, cfg.LRHead)
	}
	probe := func(i int32) int {
		for d, v := range feats[i] {
			s.z[d] = (v - s.Mean[d]) / s.Std[d]
		}
		kernels.LinearForward(s.logits, s.z, s.W, s.B, 1, s.D, s.C)
		return head.Argmax(s.logits)
	}
	res.ProbeValAcc = accuracy(val, y, probe)
	res.ValAcc = res.ProbeValAcc
	if top == nil {
		return s, res, nil
	}

	// Blocks and head together.
	params := top.Params()
	ps, gs := [][]float32{s.W, s.B}, [][]float32{dW, dB}
	for _, p := range params {
		ps, gs = append(ps, p.W), append(gs, p.G)
	}
	best := snapshot(ps)
	bestLoss := s.valLoss(rows, y, val)
	res.ValLoss = bestLoss
	tnorm := 0.0
	if cfg.Defence > 0 {
		for _, i := range train {
			tnorm += sumSq(teacher[i])
		}
		tnorm = math.Sqrt(tnorm / float64(len(train)))
		// The defended student must move away from the teacher from the first step, so its best
		// weights are chosen among the epochs that train, not the teacher's own.
		bestLoss = math.Inf(1)
	}
	if cfg.TrainedOnly {
		bestLoss = math.Inf(1)
	}
	dth := float32(cfg.DefenceDist * tnorm)
	opt := &adam{}
	rng := kernels.NewRNG(cfg.Seed)
	order := slices.Clone(train)
	dfeat := make([]float32, s.D)
	var dout []float32
	// The head keeps learning, at a tenth of its probe rate; the blocks at LRBackbone.
	lrs := make([]float64, len(ps))
	for k := range lrs {
		lrs[k] = cfg.LRBackbone
	}
	lrs[0], lrs[1] = cfg.LRHead/10, cfg.LRHead/10
	since := 0
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		rng.Shuffle(order)
		for b := 0; b < len(order); b += cfg.Batch {
			if ctx.Err() != nil {
				restore(ps, best)
				return s, res, nil
			}
			batch := order[b:min(b+cfg.Batch, len(order))]
			clear(dW)
			clear(dB)
			top.ZeroGrad()
			var bLoss float64
			bOK := 0
			for _, i := range batch {
				f := s.features(rows[i])
				clear(dfeat)
				bLoss += s.headGrad(f, y[i], dW, dB, probs, dfeat, 1/float32(len(batch)))
				if head.Argmax(probs) == int(y[i]) {
					bOK++
				}
				if cfg.Defence > 0 {
					t := teacher[i]
					var d2 float64
					for k, v := range f[:s.D] {
						d2 += float64(v-t[k]) * float64(v-t[k])
					}
					d := float32(math.Sqrt(d2)) + 1e-6
					if d < dth {
						g := -2 * float32(cfg.Defence) * (dth - d) / d / float32(len(batch)) / (dth * dth)
						for k, v := range f[:s.D] {
							dfeat[k] += g * (v - t[k])
						}
					}
				}
				sh := top.OutShape()
				n := sh[0] * sh[1] * sh[2]
				if len(dout) != n {
					dout = make([]float32, n)
				}
				if pool {
					clear(dout)
					kernels.MeanHWBackward(dout, dfeat, sh[0], sh[1], sh[2])
				} else {
					copy(dout, dfeat)
				}
				top.Backward(dout)
			}
			opt.stepLR(ps, gs, lrs)
			if cfg.Step != nil {
				cfg.Step(epoch, b/cfg.Batch+1, (len(order)+cfg.Batch-1)/cfg.Batch, len(batch), bLoss, bOK)
			}
		}
		res.Epochs = epoch
		l := s.valLoss(rows, y, val)
		if cfg.Progress != nil {
			cfg.Progress(epoch, l, accuracy(val, y, func(i int32) int { return s.Predict(rows[i]) }))
		}
		if l < bestLoss {
			bestLoss, best, since = l, snapshot(ps), 0
			res.BestEpoch = epoch
		} else if since++; cfg.Patience > 0 && since >= cfg.Patience {
			break
		}
	}
	restore(ps, best)
	res.ValLoss = bestLoss
	res.ValAcc = accuracy(val, y, func(i int32) int { return s.Predict(rows[i]) })
	return s, res, nil
}

// firstFeatures returns a row's features before any training.
func (s *Student) firstFeatures(row []float32) []float32 {
	if s.Top == nil {
		return row
	}
	if s.feat == nil {
		sh := s.Top.OutShape()
		s.feat = make([]float32, sh[len(sh)-1])
	}
	return s.features(row)
}

// headGrad adds scale × the cross-entropy gradient of one row to dW, dB and, if dfeat is not nil,
// the gradient with respect to the unstandardised features f.
func (s *Student) headGrad(f []float32, y int32, dW, dB, probs, dfeat []float32, scale float32) float64 {
	for i, v := range f[:s.D] {
		s.z[i] = (v - s.Mean[i]) / s.Std[i]
	}
	kernels.LinearForward(s.logits, s.z, s.W, s.B, 1, s.D, s.C)
	t := []int32{y}
	loss := kernels.SoftmaxCrossEntropyForward(probs, s.logits, t, nil, 0, 1, s.C)
	dl := s.logits // reused: the logits are no longer needed
	clear(dl)
	kernels.SoftmaxCrossEntropyBackward(dl, probs, t, nil, 0, 1, s.C)
	for c := range dl {
		dl[c] *= scale
	}
	if dfeat == nil {
		kernels.LinearBackward(nil, dW, dB, dl, s.z, s.W, 1, s.D, s.C)
		return loss
	}
	if len(s.dz) != s.D {
		s.dz = make([]float32, s.D)
	}
	clear(s.dz)
	kernels.LinearBackward(s.dz, dW, dB, dl, s.z, s.W, 1, s.D, s.C)
	for i, g := range s.dz {
		dfeat[i] += g / s.Std[i]
	}
	return loss
}

func (s *Student) valLoss(rows [][]float32, y []int32, val []int32) float64 {
	if len(val) == 0 {
		return 0
	}
	probs := make([]float32, s.C)
	var l float64
	for _, i := range val {
		l += kernels.SoftmaxCrossEntropyForward(probs, s.Logits(rows[i]), []int32{y[i]}, nil, 0, 1, s.C)
	}
	return l / float64(len(val))
}

func accuracy(rows []int32, y []int32, pred func(int32) int) float64 {
	if len(rows) == 0 {
		return 0
	}
	ok := 0
	for _, i := range rows {
		if pred(i) == int(y[i]) {
			ok++
		}
	}
	return float64(ok) / float64(len(rows))
}

func sumSq(v []float32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x) * float64(x)
	}
	return s
}

func snapshot(ps [][]float32) [][]float32 {
	out := make([][]float32, len(ps))
	for i, p := range ps {
		out[i] = slices.Clone(p)
	}
	return out
}

func restore(ps, from [][]float32) {
	for i, p := range ps {
		copy(p, from[i])
	}
}

// adam is Adam (β1 0.9, β2 0.999, ε 1e-8) over a list of tensors, on kernels.AdamStep.
type adam struct {
	m, v [][]float32
	t    int
}

func (a *adam) step(ps, gs [][]float32, lr float64) {
	lrs := make([]float64, len(ps))
	for i := range lrs {
		lrs[i] = lr
	}
	a.stepLR(ps, gs, lrs)
}

func (a *adam) stepLR(ps, gs [][]float32, lrs []float64) {
	if a.m == nil {
		for _, p := range ps {
			a.m = append(a.m, make([]float32, len(p)))
			a.v = append(a.v, make([]float32, len(p)))
		}
	}
	a.t++
	for i, p := range ps {
		kernels.AdamStep(p, gs[i], a.m[i], a.v[i], float32(lrs[i]), 0.9, 0.999, 1e-8, 0, 0, a.t, len(p))
	}
}
