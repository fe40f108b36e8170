package head

import (
	"context"
	"fmt"
	"math"
	"sync"
	"time"

	"finetuner/head/progress"
	"finetuner/kernels"
)

// Config is everything that decides a training run. The zero value of a field means its default
// (see Defaults); the page, the CLI and the head file all use this one struct.
type Config struct {
	Arch
	Epochs         int     `json:"epochs"`
	BatchSize      int     `json:"batchSize"`
	Optimizer      string  `json:"optimizer"` // "adam", "adamw" or "sgd"
	LR             float64 `json:"lr"`
	Momentum       float64 `json:"momentum,omitempty"` // sgd only
	Nesterov       bool    `json:"nesterov,omitempty"` // sgd only
	WeightDecay    float64 `json:"weightDecay,omitempty"`
	L2             float64 `json:"l2,omitempty"`
	Schedule       string  `json:"schedule"` // "constant" or "cosine"
	WarmupEpochs   float64 `json:"warmupEpochs,omitempty"`
	ValFraction    float64 `json:"valFraction"`
	Seed           uint64  `json:"seed"`
	Patience       int     `json:"patience,omitempty"` // epochs without a better val loss before stopping; 0 = never
	ClassWeighting bool    `json:"classWeighting,omitempty"`
	LabelSmoothing float64 `json:"labelSmoothing,omitempty"`
	ClipNorm       float64 `json:"clipNorm,omitempty"`
	NoStandardize  bool    `json:"noStandardize,omitempty"`
}

// Defaults fills the zero fields: Adam at 1e-3, batch 32, 50 epochs, cosine schedule, 20% held
// out, early stopping after 10 epochs without a better validation loss, ReLU.
func (c Config) Defaults() Config {
	if c.Epochs == 0 {
		c.Epochs = 50
	}
	if c.BatchSize == 0 {
		c.BatchSize = 32
	}
	if c.Optimizer == "" {
		c.Optimizer = "adam"
	}
	if c.LR == 0 {
		c.LR = 1e-3
	}
	if c.Schedule == "" {
		c.Schedule = "cosine"
	}
	if c.Activation == "" && len(c.Hidden) > 0 {
		c.Activation = "relu"
	}
	return c
}

// Validate reports the first setting that is out of range.
func (c Config) Validate() error {
	if err := c.Arch.Validate(); err != nil {
		return err
	}
	switch {
	case c.Epochs < 1 || c.Epochs > 100000:
		return fmt.Errorf("head: epochs %d outside 1..100000", c.Epochs)
	case c.BatchSize < 1 || c.BatchSize > 65536:
		return fmt.Errorf("head: batch size %d outside 1..65536", c.BatchSize)
	case !(c.LR > 0 && c.LR < 100):
		return fmt.Errorf("head: learning rate %v must be positive and below 100", c.LR)
	case !(c.ValFraction >= 0 && c.ValFraction < 1):
		return fmt.Errorf("head: validation fraction %v outside [0, 1)", c.ValFraction)
	case !(c.LabelSmoothing >= 0 && c.LabelSmoothing < 1):
		return fmt.Errorf("head: label smoothing %v outside [0, 1)", c.LabelSmoothing)
	case !(c.WeightDecay >= 0) || !(c.L2 >= 0) || !(c.ClipNorm >= 0) || !(c.Momentum >= 0 && c.Momentum < 1):
		return fmt.Errorf("head: weight decay, L2, clip norm must be ≥ 0 and momentum in [0, 1)")
	case !(c.WarmupEpochs >= 0) || c.WarmupEpochs > float64(c.Epochs):
		return fmt.Errorf("head: warm-up %v epochs outside 0..epochs", c.WarmupEpochs)
	case c.Patience < 0:
		return fmt.Errorf("head: patience %d < 0", c.Patience)
	}
	switch c.Optimizer {
	case "adam", "adamw", "sgd":
	default:
		return fmt.Errorf("head: unknown optimizer %q (use adam, adamw or sgd)", c.Optimizer)
	}
	switch c.Schedule {
	case "constant", "cosine":
	default:
		return fmt.Errorf("head: unknown schedule %q (use constant or cosine)", c.Schedule)
	}
	return nil
}

// Event is one entry of the progress stream (see progress.Event, whose encoding the page and
// the plot frame read).
type Event = progress.Event

// Control pauses, resumes and cancels a running training from another goroutine. A paused run
// blocks at the next step boundary; under wasm that lets the browser's event loop run. A
// cancelled run stops at the next step and returns the best head it has so far.
type Control struct {
	// OnHead, when set before the run starts, receives with each of the automatic probe's trial
	// events the best head so far (before that event reaches the progress callback): a copy the
	// caller may predict with at once while the probe refines its own model. The copy differs from
	// the last one only when the trial found a better head.
	OnHead func(m *Model, e Event)

	mu        sync.Mutex
	cond      *sync.Cond
	paused    bool
	cancelled bool
}

// NewControl returns a Control for one run.
func NewControl() *Control {
	c := &Control{}
	c.cond = sync.NewCond(&c.mu)
	return c
}

// Pause asks the run to wait at the next step boundary.
func (c *Control) Pause() { c.mu.Lock(); c.paused = true; c.mu.Unlock() }

// Resume lets a paused run continue.
func (c *Control) Resume() { c.mu.Lock(); c.paused = false; c.cond.Broadcast(); c.mu.Unlock() }

// Cancel stops the run at the next step boundary, paused or not.
func (c *Control) Cancel() { c.mu.Lock(); c.cancelled = true; c.cond.Broadcast(); c.mu.Unlock() }

// Paused reports whether the run is paused.
func (c *Control) Paused() bool { c.mu.Lock(); defer c.mu.Unlock(); return c.paused }

// Wait blocks while the run is paused and reports whether it should stop: the step boundary of
// a training loop outside this package (the fine-tuning of the last blocks).
func (c *Control) Wait(ctx context.Context) bool { return c.checkpoint(ctx) }

// checkpoint blocks while paused and reports whether the run should stop.
func (c *Control) checkpoint(ctx context.Context) bool {
	if ctx.Err() != nil {
		return true
	}
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for c.paused && !c.cancelled {
		c.cond.Wait()
	}
	return c.cancelled
}

// trainer holds one run's buffers, allocated once.
type trainer struct {
	m         *Model
	cfg       Config
	ws        *workspace
	grads     []float32
	opt1      []float32 // Adam first moment or SGD velocity
	opt2      []float32 // Adam second moment
	best      []float32
	classW    []float32
	rng       kernels.RNG
	order     []int32
	xtr, xval []float32
	ytr, yval []int32
	t         int // optimizer steps taken
}

// Train fits a head to ds with cfg. It returns the head with the weights of the epoch with the
// lowest validation loss (the last epoch when there is no validation split) and a Report.
// progress, if not nil, receives every Event. ctl may be nil.
func Train(ctx context.Context, ds *Dataset, cfg Config, ctl *Control, progress func(Event)) (*Model, *Report, error) {
	tr, val, err := prepare(ds, cfg)
	if err != nil {
		return nil, nil, err
	}
	cfg = tr.cfg
	start := time.Now()
	emit := func(e Event) {
		e.ElapsedMs = float64(time.Since(start).Microseconds()) / 1000
		if progress != nil {
			progress(e)
		}
	}
	rep, err := tr.run(ctx, ctl, emit, start)
	if err != nil {
		return nil, nil, err
	}
	tr.finish(ds, val, rep, start)
	emit(Event{Kind: "done", Epoch: rep.Epochs, Epochs: cfg.Epochs, TrainLoss: rep.TrainLoss, TrainAcc: rep.TrainAcc,
		HasVal: rep.NVal > 0, ValLoss: rep.ValLoss, ValAcc: rep.ValAcc})
	return tr.m, rep, nil
}

// prepare fills the defaults, validates settings and data, and makes the run's trainer.
func prepare(ds *Dataset, cfg Config) (*trainer, []int32, error) {
	cfg = cfg.Defaults()
	if err := cfg.Validate(); err != nil {
		return nil, nil, err
	}
	if err := ds.Validate(); err != nil {
		return nil, nil, err
	}
	return newTrainer(ds, cfg)
}

func newTrainer(ds *Dataset, cfg Config) (*trainer, []int32, error) {
	train, val := SplitGroups(ds.Y, ds.Group, len(ds.Labels), cfg.ValFraction, cfg.Seed)
	tr := &trainer{cfg: cfg, rng: kernels.NewRNG(cfg.Seed)}
	m, err := NewModel(cfg.Arch, ds.D, ds.Labels, &tr.rng)
	if err != nil {
		return nil, nil, err
	}
	m.Meta.Config = &tr.cfg
	if !cfg.NoStandardize {
		m.Mean, m.Std = fitStandardizer(ds.X, ds.D, train)
	}
	tr.m = m
	B := min(cfg.BatchSize, len(train))
	tr.ws = m.newWorkspace(max(B, min(256, max(len(val), 1))), true)
	tr.grads = make([]float32, len(m.Params))
	tr.opt1 = make([]float32, len(m.Params))
	if cfg.Optimizer != "sgd" {
		tr.opt2 = make([]float32, len(m.Params))
	}
	tr.best = make([]float32, len(m.Params))
	tr.xtr, tr.ytr = gather(m, ds.X, ds.D, train), gatherLabels(ds.Y, train)
	tr.xval, tr.yval = gather(m, ds.X, ds.D, val), gatherLabels(ds.Y, val)
	tr.order = make([]int32, len(train))
	for i := range tr.order {
		tr.order[i] = int32(i)
	}
	if cfg.ClassWeighting {
		tr.classW = balancedWeights(tr.ytr, m.C)
	}
	return tr, val, nil
}

// balancedWeights gives class c the weight N/(C·n_c), as scikit-learn's class_weight="balanced".
func balancedWeights(y []int32, C int) []float32 {
	counts := make([]int, C)
	for _, c := range y {
		counts[c]++
	}
	w := make([]float32, C)
	for c, n := range counts {
		if n > 0 {
			w[c] = float32(float64(len(y)) / float64(C*n))
		}
	}
	return w
}

// lrAt is the learning rate at optimizer step t (0-based) of total: linear warm-up, then constant
// or a cosine decay to zero.
func (tr *trainer) lrAt(t, total, stepsPerEpoch int) float64 {
	base := tr.cfg.LR
	warm := int(tr.cfg.WarmupEpochs * float64(stepsPerEpoch))
	if t < warm {
		return base * float64(t+1) / float64(warm)
	}
	if tr.cfg.Schedule == "cosine" && total > warm {
		p := float64(t-warm) / float64(total-warm)
		return base * 0.5 * (1 + math.Cos(math.Pi*p))
	}
	return base
}

func (tr *trainer) run(ctx context.Context, ctl *Control, emit func(Event), start time.Time) (*Report, error) {
	cfg, m := tr.cfg, tr.m
	n := len(tr.ytr)
	B := min(cfg.BatchSize, n)
	stepsPerEpoch := (n + B - 1) / B
	total := stepsPerEpoch * cfg.Epochs
	rep := &Report{}
	bestVal := math.Inf(1)
	sinceBest := 0
	copy(tr.best, m.Params)
	for epoch := 1; epoch <= cfg.Epochs; epoch++ {
		tr.rng.Shuffle(tr.order)
		var lossSum float64
		var correct, seen int
		epochStart := time.Now()
		for s := 0; s < stepsPerEpoch; s++ {
			if ctl.checkpoint(ctx) {
				if err := ctx.Err(); err != nil {
					return nil, err
				}
				rep.Cancelled = true
				break
			}
			rows := tr.order[s*B : min((s+1)*B, n)]
			lr := tr.lrAt(tr.t, total, stepsPerEpoch)
			loss, ok := tr.step(rows, lr)
			if math.IsNaN(loss) || math.IsInf(loss, 0) {
				return nil, fmt.Errorf("head: training diverged at epoch %d (loss %v); lower the learning rate", epoch, loss)
			}
			lossSum += loss * float64(len(rows))
			correct += ok
			seen += len(rows)
			emit(Event{Kind: "step", Epoch: epoch, Epochs: cfg.Epochs, Step: tr.t, Steps: total, TrainLoss: loss,
				TrainAcc: float64(ok) / float64(len(rows)), LR: lr,
				SamplesPerSec: rate(seen, epochStart)})
		}
		if seen == 0 {
			break
		}
		rep.Epochs = epoch
		e := Event{Kind: "epoch", Epoch: epoch, Epochs: cfg.Epochs, Step: tr.t, Steps: total,
			TrainLoss: lossSum / float64(seen), TrainAcc: float64(correct) / float64(seen),
			LR: tr.lrAt(max(tr.t-1, 0), total, stepsPerEpoch), SamplesPerSec: rate(seen, epochStart)}
		if len(tr.yval) > 0 {
			e.HasVal = true
			e.ValLoss, e.ValAcc = tr.evaluate(tr.xval, tr.yval, nil)
			if e.ValLoss < bestVal {
				bestVal, sinceBest, rep.BestEpoch = e.ValLoss, 0, epoch
				copy(tr.best, m.Params)
			} else {
				sinceBest++
			}
		} else {
			rep.BestEpoch = epoch
			copy(tr.best, m.Params)
		}
		emit(e)
		if rep.Cancelled {
			break
		}
		if cfg.Patience > 0 && sinceBest >= cfg.Patience {
			rep.StoppedEarly = true
			break
		}
	}
	copy(m.Params, tr.best)
	return rep, nil
}

// step runs one mini-batch: forward, loss, backward, clip, update. It returns the batch loss and
// the number of rows predicted right. It allocates nothing.
func (tr *trainer) step(rows []int32, lr float64) (float64, int) {
	m, ws, cfg := tr.m, tr.ws, tr.cfg
	D, C := m.D, m.C
	n := len(rows)
	for i, r := range rows {
		copy(ws.x[i*D:i*D+D], tr.xtr[int(r)*D:int(r)*D+D])
		ws.y[i] = tr.ytr[r]
	}
	logits := m.forward(ws, n, true, &tr.rng)
	probs := ws.probs[:n*C]
	loss := kernels.SoftmaxCrossEntropyForward(probs, logits, ws.y[:n], tr.classW, float32(cfg.LabelSmoothing), n, C)
	ok := countCorrect(probs, ws.y[:n], C)
	last := len(m.layers) - 1
	dlogits := ws.dz[last][:n*C]
	clear(dlogits)
	kernels.SoftmaxCrossEntropyBackward(dlogits, probs, ws.y[:n], tr.classW, float32(cfg.LabelSmoothing), n, C)
	clear(tr.grads)
	m.backward(ws, tr.grads, n)
	if cfg.ClipNorm > 0 {
		kernels.ClipGradNorm(tr.grads, float32(cfg.ClipNorm))
	}
	tr.t++
	tr.update(float32(lr))
	return loss, ok
}

// update applies the optimizer to each tensor; weights take L2 and weight decay, biases neither.
func (tr *trainer) update(lr float32) {
	cfg := tr.cfg
	off := 0
	for _, l := range tr.m.layers {
		for _, t := range [2]struct {
			n     int
			decay bool
		}{{l.in * l.out, true}, {len(l.b), false}} {
			if t.n == 0 {
				continue
			}
			p, g := tr.m.Params[off:off+t.n], tr.grads[off:off+t.n]
			var l2, wd float32
			if t.decay {
				l2, wd = float32(cfg.L2), float32(cfg.WeightDecay)
			}
			switch cfg.Optimizer {
			case "sgd":
				kernels.SGDStep(p, g, tr.opt1[off:off+t.n], lr, float32(cfg.Momentum), l2, wd, cfg.Nesterov, t.n)
			case "adam":
				// Plain Adam couples weight decay into the gradient (L2), as tfjs and Keras do.
				kernels.AdamStep(p, g, tr.opt1[off:off+t.n], tr.opt2[off:off+t.n], lr, 0.9, 0.999, 1e-7, l2+wd, 0, tr.t, t.n)
			case "adamw":
				kernels.AdamStep(p, g, tr.opt1[off:off+t.n], tr.opt2[off:off+t.n], lr, 0.9, 0.999, 1e-7, l2, wd, tr.t, t.n)
			}
			off += t.n
		}
	}
}

// evaluate returns the mean cross-entropy (no smoothing, no class weights) and the accuracy of
// the model on standardised rows x with labels y. If pred is not nil it receives the predicted
// class of every row.
func (tr *trainer) evaluate(x []float32, y []int32, pred []int32) (loss, acc float64) {
	m, ws := tr.m, tr.ws
	D, C := m.D, m.C
	N := len(y)
	var lossSum float64
	correct := 0
	for r := 0; r < N; r += ws.B {
		k := min(ws.B, N-r)
		copy(ws.x[:k*D], x[r*D:(r+k)*D])
		logits := m.forward(ws, k, false, nil)
		probs := ws.probs[:k*C]
		lossSum += kernels.SoftmaxCrossEntropyForward(probs, logits, y[r:r+k], nil, 0, k, C) * float64(k)
		correct += countCorrect(probs, y[r:r+k], C)
		if pred != nil {
			for i := 0; i < k; i++ {
				pred[r+i] = int32(Argmax(probs[i*C : i*C+C]))
			}
		}
	}
	return lossSum / float64(N), float64(correct) / float64(N)
}

// rate is samples per second since start, 0 until the clock has moved: a tiny epoch can finish
// within one tick of a coarse clock, and an infinite rate would not survive JSON.
func rate(n int, start time.Time) float64 {
	if s := time.Since(start).Seconds(); s > 0 {
		return float64(n) / s
	}
	return 0
}

func countCorrect(probs []float32, y []int32, C int) int {
	ok := 0
	for i, t := range y {
		if Argmax(probs[i*C:i*C+C]) == int(t) {
			ok++
		}
	}
	return ok
}

// Argmax returns the index of the largest value (the first on ties): the predicted class of a
// row of probabilities or logits.
func Argmax(v []float32) int {
	best := 0
	for i, x := range v {
		if x > v[best] {
			best = i
		}
	}
	return best
}

func sqrt(x float64) float64 { return math.Sqrt(x) }
