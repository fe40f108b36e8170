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
	// x (N,dim) is what the objective multiplies: the standardised training rows (dim = D), or,
	// with at most half as many rows as features, their reduction Φ (dim = N, see reduce).
	x       []float32
	dim     int
	phi     []float64 // (N,N) lower-triangular Φ with Φ·Φᵀ = X·Xᵀ; nil when solving in the features
	gram    []float64 // (N,N) X·Xᵀ when reduce computed it
	w32     []float32 // (C,dim) weights, then (C) biases: the point the objective evaluates
	fresh   bool      // logits, probs and f are those of w32
	f       float64
	logits  []float32 // (N,C)
	probs   []float32
	dlogits []float32
	grad32  []float32
	lambda  float64
	iters   int
	evals   int
}

func newProbe(tr *trainer, ctx context.Context, ctl *Control, progress func(Event), start time.Time) *probe {
	n, C := len(tr.ytr), tr.m.C
	p := &probe{tr: tr, ctx: ctx, ctl: ctl, progress: progress, start: start, x: tr.xtr, dim: tr.m.D,
		logits: make([]float32, n*C), probs: make([]float32, n*C), dlogits: make([]float32, n*C)}
	// The reduction pays when the rows are at most half the features: each evaluation then costs
	// at most half as much, and the Gram matrix and its factorisation (N²D + N³/6 multiply-adds,
	// once) stay below the cost of a few evaluations.
	if n > 0 && 2*n <= tr.m.D {
		p.reduce()
	}
	p.w32 = make([]float32, p.dim*C+C)
	p.grad32 = make([]float32, p.dim*C+C)
	return p
}

// reduce replaces the N training rows of D features by N rows of N numbers with the same inner
// products. With X (N,D) = Φ·Qᵀ, Q (D,N) orthonormal and Φ (N,N) the Cholesky factor of the Gram
// matrix X·Xᵀ, a weight row w (D) in X's row space is β·Qᵀ with the same logits X·w = Φ·β and the
// same norm ‖w‖ = ‖β‖, and the L2-regularised optimum lies in that row space (every gradient
// does). So the probe minimises the same objective over β (C,N) instead of w (C,D): each
// evaluation costs N²C instead of NDC, the iterates are the same up to rounding, and toModel maps
// β back. The Gram matrix runs on the float32 kernel, the factorisation in float64.
func (p *probe) reduce() {
	n, D := len(p.tr.ytr), p.tr.m.D
	k32 := make([]float32, n*n)
	kernels.LinearForward(k32, p.tr.xtr, p.tr.xtr, nil, n, D, n)
	k := make([]float64, n*n)
	for i, v := range k32 {
		k[i] = float64(v)
	}
	p.gram = k
	p.phi = semidefiniteCholesky(k, n)
	p.x = make([]float32, n*n)
	for i, v := range p.phi {
		p.x[i] = float32(v)
	}
	p.dim = n
}

// semidefiniteCholesky returns the lower-triangular L (n,n) with L·Lᵀ = K for a symmetric positive
// semidefinite K (n,n). A pivot at or below 1e-7 of the largest diagonal (a row that repeats or
// mixes others, up to the float32 rounding of K) gets a zero column instead: L·Lᵀ still equals K
// to that tolerance, and the direction adds nothing to the logits.
func semidefiniteCholesky(K []float64, n int) []float64 {
	L := make([]float64, n*n)
	tol := 0.0
	for i := 0; i < n; i++ {
		tol = math.Max(tol, K[i*n+i])
	}
	tol *= 1e-7
	for j := 0; j < n; j++ {
		lj := L[j*n : j*n+j]
		d := K[j*n+j]
		for _, v := range lj {
			d -= v * v
		}
		if d <= tol {
			continue
		}
		djj := math.Sqrt(d)
		L[j*n+j] = djj
		for i := j + 1; i < n; i++ {
			li := L[i*n : i*n+j]
			s := K[i*n+j]
			for k, v := range li {
				s -= v * lj[k]
			}
			L[i*n+j] = s / djj
		}
	}
	return L
}

// objective returns f(params) and writes its gradient into grad when grad is not nil; params are
// w (C,dim) then b (C).
//
// gonum asks for the value and then the gradient at the same point as two calls; the second
// reuses the first's forward pass.
func (p *probe) objective(params []float64, grad []float64) float64 {
	same := p.fresh
	for i, v := range params {
		if same && p.w32[i] != float32(v) {
			same = false
		}
		p.w32[i] = float32(v)
	}
	n, D, C := len(p.tr.ytr), p.dim, p.tr.m.C
	w, b := p.w32[:D*C], p.w32[D*C:]
	f := p.f
	if !same {
		p.evals++
		kernels.LinearForward(p.logits, p.x, w, b, n, D, C)
		f = kernels.SoftmaxCrossEntropyForward(p.probs, p.logits, p.tr.ytr, p.tr.classW, 0, n, C)
		var reg float64
		for _, v := range w {
			reg += float64(v) * float64(v)
		}
		f += 0.5 * p.lambda * reg
		p.f, p.fresh = f, true
	}
	if grad != nil {
		clear(p.dlogits)
		kernels.SoftmaxCrossEntropyBackward(p.dlogits, p.probs, p.tr.ytr, p.tr.classW, 0, n, C)
		clear(p.grad32)
		kernels.LinearBackward(nil, p.grad32[:D*C], p.grad32[D*C:], p.dlogits, p.x, w, n, D, C)
		for i, g := range p.grad32 {
			grad[i] = float64(g)
		}
		for i, v := range w {
			grad[i] += p.lambda * float64(v)
		}
	}
	return f
}

// toModel writes the head of params into the model: as they are, or, for the reduced problem,
// w = β·Qᵀ = αᵀ·X with α (N,C) solving Φᵀ·α = βᵀ (a zero column of Φ gets α = 0).
func (p *probe) toModel(params []float64) {
	m := p.tr.m
	if p.phi == nil {
		for i, v := range params {
			m.Params[i] = float32(v)
		}
		return
	}
	n, D, C := p.dim, m.D, m.C
	w := make([]float64, D)
	a := make([]float64, n)
	for c := 0; c < C; c++ {
		beta := params[c*n : c*n+n]
		for j := n - 1; j >= 0; j-- {
			a[j] = 0
			if d := p.phi[j*n+j]; d != 0 {
				s := beta[j]
				for i := j + 1; i < n; i++ {
					s -= p.phi[i*n+j] * a[i]
				}
				a[j] = s / d
			}
		}
		clear(w)
		for i, ai := range a {
			for k, x := range p.tr.xtr[i*D : i*D+D] {
				w[k] += ai * float64(x)
			}
		}
		for k, v := range w {
			m.Params[c*D+k] = float32(v)
		}
		m.Params[C*D+c] = float32(params[n*C+c])
	}
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
	p.fresh = false // f depends on λ
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
	// The features' fit starts from the model's initial weights; the reduced one from zero (the
	// initial weights' part outside the rows' span only adds to the penalty).
	x := make([]float64, len(p.w32))
	if p.phi == nil {
		for i, v := range m.Params {
			x[i] = float64(v)
		}
	}
	if len(p.tr.yval) == 0 {
		_, err := p.fit(x, probeFallbackLambda, finalIters, finalGradTol, finalRelTol)
		p.toModel(x)
		return probeFallbackLambda, err
	}
	type result struct {
		lambda, loss, acc float64
		x                 []float64
		head              *Model
	}
	var best *result
	var onHead func(*Model, Event)
	if p.ctl != nil {
		onHead = p.ctl.OnHead
	}
	// The closed-form head comes first; it is handed over until a trial's head does better on the
	// validation split (accuracy, then loss). The path's own choice and final fit ignore it.
	var first *ridgeResult
	if onHead != nil || p.progress != nil {
		first = p.ridge()
	}
	if first != nil {
		e := Event{Kind: "trial", Epoch: p.iters, Lambda: first.lambda, HasVal: true, ValLoss: first.loss,
			ValAcc: first.acc, TrainAcc: first.trainAcc, ElapsedMs: float64(time.Since(p.start).Microseconds()) / 1000}
		if onHead != nil {
			onHead(first.head, e)
		}
		if p.progress != nil {
			p.progress(e)
		}
	}
	// try fits at λ warm-started from a copy of from and returns the solution.
	try := func(lambda float64, from []float64) ([]float64, error) {
		xi := append([]float64(nil), from...)
		_, err := p.fit(xi, lambda, sweepIters, sweepGradTol, sweepRelTol)
		// A cancelled first fit leaves its last iterate in the model, not the random start.
		p.toModel(xi)
		if err != nil {
			return nil, err
		}
		loss, acc := p.tr.evaluate(p.tr.xval, p.tr.yval, nil)
		if best == nil || acc > best.acc || (acc == best.acc && loss < best.loss) {
			best = &result{lambda, loss, acc, xi, nil}
			if onHead != nil {
				best.head = m.snapshot()
			}
		}
		if p.progress != nil || onHead != nil {
			_, tacc := p.tr.evaluate(p.tr.xtr, p.tr.ytr, nil)
			e := Event{Kind: "trial", Epoch: p.iters, Lambda: lambda, HasVal: true, ValLoss: loss, ValAcc: acc,
				TrainAcc: tacc, ElapsedMs: float64(time.Since(p.start).Microseconds()) / 1000}
			if onHead != nil {
				h := best.head
				if first != nil && (first.acc > best.acc || (first.acc == best.acc && first.loss < best.loss)) {
					h = first.head
				}
				onHead(h, e)
			}
			if p.progress != nil {
				p.progress(e)
			}
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
	p.toModel(best.x)
	return best.lambda, err
}

// snapshot returns a copy of the model's weights under its labels and standardisation: a head
// that predicts while the probe goes on changing m.
func (m *Model) snapshot() *Model {
	c := &Model{Arch: m.Arch, D: m.D, C: m.C, Labels: m.Labels, Mean: m.Mean, Std: m.Std,
		Params: append([]float32(nil), m.Params...), Meta: Meta{Config: m.Meta.Config}}
	c.bindLayers()
	return c
}
