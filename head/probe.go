package head

import (
	"context"
	"errors"
	"math"
	"time"

	"gonum.org/v1/gonum/optimize"

	"finetuner/kernels"
)

// The automatic linear probe follows the protocol of the CLIP paper's linear-probe evaluation
// (Radford et al. 2021, appendix A.3): an L2-regularised softmax regression on frozen features,
// fitted to convergence with L-BFGS, with the regularisation strength chosen on a validation
// split. Here the objective and its gradient run on our float32 kernels and gonum's L-BFGS drives
// the search; the path of strengths runs from strong to weak, each fit warm-started from the last,
// then the best is refined by half-decades and refit to a tighter tolerance.

// ProbeLambdas is the coarse path of L2 strengths λ in the objective
// mean CE + λ/2·‖W‖² (features standardised, biases unpenalised).
var ProbeLambdas = []float64{1, 1e-1, 1e-2, 1e-3, 1e-4, 1e-5}

// probePatience ends the path early: after this many strengths in a row that are worse than the
// best on both validation accuracy and loss, weaker regularisation is only overfitting more (and
// each weaker fit takes more iterations).
const probePatience = 2

// probeFallbackLambda is used when there is no validation split to choose with.
const probeFallbackLambda = 1e-3

var errProbeCancelled = errors.New("head: probe cancelled")

// AutoProbe fits a linear head with the automatic L2 sweep. From cfg it uses ValFraction (0.2 when
// zero), Seed, ClassWeighting and NoStandardize; the architecture is always linear.
func AutoProbe(ctx context.Context, ds *Dataset, cfg Config, ctl *Control, progress func(Event)) (*Model, *Report, error) {
	if cfg.ValFraction == 0 {
		cfg.ValFraction = 0.2
	}
	cfg.Arch = Arch{}
	cfg.Optimizer, cfg.Schedule, cfg.Epochs = "adam", "constant", 1 // unused by the probe; keeps Validate happy
	tr, val, err := prepare(ds, cfg)
	if err != nil {
		return nil, nil, err
	}
	start := time.Now()
	p := newProbe(tr, ctx, ctl, progress, start)
	rep := &Report{}
	lambda, err := p.sweep()
	if err != nil && !errors.Is(err, errProbeCancelled) {
		return nil, nil, err
	}
	rep.Cancelled = errors.Is(err, errProbeCancelled)
	rep.Lambda = lambda
	rep.Epochs = p.iters
	tr.cfg.L2 = lambda
	tr.m.Meta.Config = &tr.cfg
	tr.finish(ds, val, rep, start)
	tr.m.Meta.Metrics["lambda"] = lambda
	if progress != nil {
		progress(Event{Kind: "done", Epoch: p.iters, TrainLoss: rep.TrainLoss, TrainAcc: rep.TrainAcc,
			HasVal: rep.NVal > 0, ValLoss: rep.ValLoss, ValAcc: rep.ValAcc, Lambda: lambda,
			ElapsedMs: float64(time.Since(start).Microseconds()) / 1000})
	}
	return tr.m, rep, nil
}

type probe struct {
	tr       *trainer
	ctx      context.Context
	ctl      *Control
	progress func(Event)
	start    time.Time
	logits   []float32 // (Ntr,C)
	probs    []float32
	dlogits  []float32
	grad32   []float32
	lambda   float64
	iters    int
	evals    int
}

func newProbe(tr *trainer, ctx context.Context, ctl *Control, progress func(Event), start time.Time) *probe {
	n, C := len(tr.ytr), tr.m.C
	return &probe{tr: tr, ctx: ctx, ctl: ctl, progress: progress, start: start,
		logits: make([]float32, n*C), probs: make([]float32, n*C), dlogits: make([]float32, n*C),
		grad32: make([]float32, len(tr.m.Params))}
}

// objective returns f(params) and writes its gradient into grad when grad is not nil.
func (p *probe) objective(params []float64, grad []float64) float64 {
	m := p.tr.m
	for i, v := range params {
		m.Params[i] = float32(v)
	}
	p.evals++
	l := m.layers[0]
	n, D, C := len(p.tr.ytr), m.D, m.C
	kernels.LinearForward(p.logits, p.tr.xtr, l.w, l.b, n, D, C)
	f := kernels.SoftmaxCrossEntropyForward(p.probs, p.logits, p.tr.ytr, p.tr.classW, 0, n, C)
	var reg float64
	for _, w := range l.w {
		reg += float64(w) * float64(w)
	}
	f += 0.5 * p.lambda * reg
	if grad != nil {
		clear(p.dlogits)
		kernels.SoftmaxCrossEntropyBackward(p.dlogits, p.probs, p.tr.ytr, p.tr.classW, 0, n, C)
		clear(p.grad32)
		kernels.LinearBackward(nil, p.grad32[:D*C], p.grad32[D*C:], p.dlogits, p.tr.xtr, l.w, n, D, C)
		for i, g := range p.grad32 {
			grad[i] = float64(g)
		}
		for i, w := range l.w {
			grad[i] += p.lambda * float64(w)
		}
	}
	return f
}

// fit minimises the objective at λ from x (in place) and returns the final objective value.
// The sweep's fits stop early (they only rank strengths); the final fit at the chosen strength
// runs to a tight tolerance.
const (
	sweepIters, sweepGradTol, sweepRelTol = 25, 1e-4, 1e-5
	finalIters, finalGradTol, finalRelTol = 300, 1e-6, 1e-9
)

func (p *probe) fit(x []float64, lambda float64, maxIter int, gradTol, relTol float64) (float64, error) {
	p.lambda = lambda
	prob := optimize.Problem{
		Func: func(x []float64) float64 { return p.objective(x, nil) },
		Grad: func(grad, x []float64) { p.objective(x, grad) },
	}
	settings := &optimize.Settings{
		GradientThreshold: gradTol,
		MajorIterations:   maxIter,
		Converger:         &optimize.FunctionConverge{Relative: relTol, Iterations: 5},
		Recorder:          p,
	}
	res, err := optimize.Minimize(prob, x, settings, &optimize.LBFGS{Store: 15})
	if res != nil && res.X != nil {
		copy(x, res.X)
	}
	if errors.Is(err, errProbeCancelled) {
		return math.NaN(), err
	}
	// A line search that can make no more progress in float32 is convergence, not failure.
	f := p.objective(x, nil)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return f, errors.New("head: probe diverged; the features may be degenerate")
	}
	return f, nil
}

// Init and Record make the probe a gonum Recorder: progress events, pause and cancel.
func (p *probe) Init() error { return nil }

func (p *probe) Record(loc *optimize.Location, op optimize.Operation, _ *optimize.Stats) error {
	if op != optimize.MajorIteration {
		return nil
	}
	p.iters++
	if p.progress != nil {
		p.progress(Event{Kind: "step", Epoch: p.iters, Step: p.iters, TrainLoss: loc.F, Lambda: p.lambda,
			ElapsedMs: float64(time.Since(p.start).Microseconds()) / 1000})
	}
	if p.ctl.checkpoint(p.ctx) {
		return errProbeCancelled
	}
	return nil
}

// sweep runs the λ path, picks λ by validation accuracy (then loss), refines and refits; the
// best parameters are left in the model.
func (p *probe) sweep() (float64, error) {
	m := p.tr.m
	x := make([]float64, len(m.Params))
	for i, v := range m.Params {
		x[i] = float64(v)
	}
	if len(p.tr.yval) == 0 {
		_, err := p.fit(x, probeFallbackLambda, finalIters, finalGradTol, finalRelTol)
		return probeFallbackLambda, err
	}
	type result struct {
		lambda, loss, acc float64
		x                 []float64
	}
	var best *result
	// try fits at λ warm-started from a copy of from and returns the solution.
	try := func(lambda float64, from []float64) ([]float64, error) {
		xi := append([]float64(nil), from...)
		if _, err := p.fit(xi, lambda, sweepIters, sweepGradTol, sweepRelTol); err != nil {
			return nil, err
		}
		loss, acc := p.tr.evaluate(p.tr.xval, p.tr.yval, nil)
		if p.progress != nil {
			_, tacc := p.tr.evaluate(p.tr.xtr, p.tr.ytr, nil)
			p.progress(Event{Kind: "trial", Epoch: p.iters, Lambda: lambda, HasVal: true, ValLoss: loss, ValAcc: acc,
				TrainAcc: tacc, ElapsedMs: float64(time.Since(p.start).Microseconds()) / 1000})
		}
		if best == nil || acc > best.acc || (acc == best.acc && loss < best.loss) {
			best = &result{lambda, loss, acc, xi}
		}
		return xi, nil
	}
	from := x
	var err error
	worse := 0
	for _, lambda := range ProbeLambdas {
		prev := best
		if from, err = try(lambda, from); err != nil {
			break
		}
		if best == prev && prev != nil {
			worse++
		} else {
			worse = 0
		}
		if worse >= probePatience {
			break
		}
	}
	if err == nil {
		b := best
		for _, f := range []float64{math.Sqrt(10), 1 / math.Sqrt(10)} {
			if _, err = try(b.lambda*f, b.x); err != nil {
				break
			}
		}
	}
	if best == nil {
		return 0, err
	}
	if err == nil {
		_, err = p.fit(best.x, best.lambda, finalIters, finalGradTol, finalRelTol)
	}
	for i, v := range best.x {
		m.Params[i] = float32(v)
	}
	return best.lambda, err
}
