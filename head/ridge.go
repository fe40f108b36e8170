package head

import (
	"math"

	"gonum.org/v1/gonum/blas"
	"gonum.org/v1/gonum/blas/blas64"
	"gonum.org/v1/gonum/floats"
	"gonum.org/v1/gonum/lapack/lapack64"
	"gonum.org/v1/gonum/mat"

	"finetuner/kernels"
)

// The probe's first head is closed-form: ridge regression of the one-hot labels on the training
// rows (a least-squares classifier, as in the linear probes of Kornblith, Shlens and Le 2019,
// "Do Better ImageNet Models Transfer Better?", which compare it with logistic regression), solved
// in the rows' span. With the rows centred, Xc (N,D), and the one-hot labels minus the class
// priors, Yc (N,C), the weights are W = Xcᵀ·A with A = (Xc·Xcᵀ + λI)⁻¹·Yc (N,C), one N×N
// Cholesky per strength. The strength is chosen on the validation split from a short path scaled
// by the Gram matrix's mean diagonal, and one temperature s (the logits are s·(x·W + b)) is fitted
// to the validation loss by Newton's method (temperature scaling, Guo et al. 2017, "On Calibration
// of Modern Neural Networks"). It costs N²·D multiply-adds for the Gram matrix, usually less than
// one L-BFGS evaluation over the features, and is handed over before the L-BFGS path starts: a
// usable head at once, which the softmax probe then replaces when it does better.

// ridgeBudget bounds the closed-form head's Gram matrix, N²·D multiply-adds: beyond it (several
// thousand rows) the first L-BFGS fit is the quicker first head.
const ridgeBudget = 1 << 27

// ridgeStrengths are the strengths tried, in units of the Gram matrix's mean diagonal.
var ridgeStrengths = []float64{10, 1, 1e-1, 1e-2, 1e-3}

// ridgeResult is the closed-form head and its validation figures.
type ridgeResult struct {
	head      *Model
	lambda    float64 // in the probe's units: mean squared error + λ/2·‖W‖²
	loss, acc float64 // validation
	trainAcc  float64
	ridge     float64 // the strength in the closed form's own units: (Xc·Xcᵀ + ridge·I)
	temp      float64 // the temperature s
}

// ridge fits the closed-form head, or returns nil when there is no validation split, the problem
// is over budget, or the solve fails (the L-BFGS path then gives the first head as before).
func (p *probe) ridge() *ridgeResult {
	tr, m := p.tr, p.tr.m
	n, nv, D, C := len(tr.ytr), len(tr.yval), m.D, m.C
	if n == 0 || nv == 0 || float64(n)*float64(n)*float64(D) > ridgeBudget {
		return nil
	}
	// Centre the rows on the training mean. Standardised rows are centred already (up to
	// rounding), and their Gram matrix is the one reduce computed.
	mu := make([]float64, D)
	xc, xvc, gram := tr.xtr, tr.xval, p.gram
	if m.Mean == nil {
		for i := 0; i < n; i++ {
			for k, v := range tr.xtr[i*D : i*D+D] {
				mu[k] += float64(v)
			}
		}
		for k := range mu {
			mu[k] /= float64(n)
		}
		centre := func(x []float32) []float32 {
			c := make([]float32, len(x))
			for i := range c {
				c[i] = x[i] - float32(mu[i%D])
			}
			return c
		}
		xc, xvc, gram = centre(tr.xtr), centre(tr.xval), nil
	}
	if gram == nil {
		k32 := make([]float32, n*n)
		kernels.LinearForward(k32, xc, xc, nil, n, D, n)
		gram = make([]float64, n*n)
		for i, v := range k32 {
			gram[i] = float64(v)
		}
	}
	kv32 := make([]float32, nv*n)
	kernels.LinearForward(kv32, xvc, xc, nil, nv, D, n)
	kv := mat.NewDense(nv, n, nil)
	for i, v := range kv32 {
		kv.RawMatrix().Data[i] = float64(v)
	}

	prior := make([]float64, C)
	for _, y := range tr.ytr {
		prior[y] += 1 / float64(n)
	}
	yc := mat.NewDense(n, C, nil)
	for i, y := range tr.ytr {
		for c := 0; c < C; c++ {
			yc.Set(i, c, -prior[c])
		}
		yc.Set(i, int(y), 1-prior[y])
	}
	var scale float64
	for i := 0; i < n; i++ {
		scale += gram[i*n+i]
	}
	scale /= float64(n)
	if !(scale > 0) {
		return nil
	}

	// Each strength's validation scores Kv·A + priors, ranked by accuracy, then squared error.
	var bestA *mat.Dense
	var bestPred mat.Dense
	bestAcc, bestErr, bestLambda := -1.0, math.Inf(1), 0.0
	// LAPACK's potrf/potrs directly: mat.Cholesky would also estimate the condition number, which
	// costs as much as the factorisation here and is not needed (λ > 0 bounds it).
	sym := blas64.Symmetric{N: n, Stride: n, Uplo: blas.Upper, Data: make([]float64, n*n)}
	for _, f := range ridgeStrengths {
		lambda := f * scale
		copy(sym.Data, gram)
		for i := 0; i < n; i++ {
			sym.Data[i*n+i] += lambda
		}
		tri, ok := lapack64.Potrf(sym)
		if !ok {
			continue
		}
		a := mat.DenseCopyOf(yc)
		lapack64.Potrs(tri, a.RawMatrix())
		var pred mat.Dense
		pred.Mul(kv, a)
		correct, sq := 0, 0.0
		for i, y := range tr.yval {
			row := pred.RawRowView(i)
			for c := range row {
				row[c] += prior[c]
				t := 0.0
				if c == int(y) {
					t = 1
				}
				sq += (row[c] - t) * (row[c] - t)
			}
			if floats.MaxIdx(row) == int(y) {
				correct++
			}
		}
		acc := float64(correct) / float64(nv)
		if acc > bestAcc || (acc == bestAcc && sq < bestErr) {
			bestA, bestAcc, bestErr, bestLambda = a, acc, sq, lambda
			bestPred.CloneFrom(&pred)
		}
	}
	if bestA == nil {
		return nil
	}
	s := fitTemperature(bestPred.RawMatrix().Data, tr.yval, C)

	// W = s·Xcᵀ·A (C,D) and b = s·(priors − μ·W/s): the head on the uncentred rows.
	h := m.snapshot()
	w, b := h.Params[:C*D], h.Params[C*D:C*D+C]
	wc := make([]float64, D)
	for c := 0; c < C; c++ {
		clear(wc)
		for i := 0; i < n; i++ {
			ai := bestA.At(i, c)
			for k, x := range xc[i*D : i*D+D] {
				wc[k] += ai * float64(x)
			}
		}
		bias := prior[c]
		for k, v := range wc {
			w[c*D+k] = float32(s * v)
			bias -= mu[k] * v
		}
		b[c] = float32(s * bias)
	}
	// The head's own validation figures, through the same forward pass as every other head.
	tr.m = h
	loss, acc := tr.evaluate(tr.xval, tr.yval, nil)
	_, tacc := tr.evaluate(tr.xtr, tr.ytr, nil)
	tr.m = m
	if math.IsNaN(loss) || math.IsInf(loss, 0) {
		return nil
	}
	return &ridgeResult{head: h, lambda: 2 * bestLambda / float64(n), loss: loss, acc: acc, trainAcc: tacc, ridge: bestLambda, temp: s}
}

// fitTemperature returns the s > 0 that minimises the mean cross-entropy of softmax(s·z) over the
// rows of z (N,C) with labels y: a convex function of s, minimised by safeguarded Newton steps
// from s = 1, at most 50 of them, within [1e-3, 1e3]. Scores that separate the rows perfectly have
// no finite minimiser: s then grows until the rows' loss is negligible or the steps run out.
func fitTemperature(z []float64, y []int32, C int) float64 {
	const sMin, sMax = 1e-3, 1e3
	s := 1.0
	p := make([]float64, C)
	for it := 0; it < 50; it++ {
		var g, h float64
		for i, yi := range y {
			row := z[i*C : i*C+C]
			mx := row[floats.MaxIdx(row)]
			var sum float64
			for c, v := range row {
				p[c] = math.Exp(s * (v - mx))
				sum += p[c]
			}
			// The derivative and the curvature as sums of non-cancelling terms: with confident
			// scores, E[z] − z_y and E[z²] − E[z]² would lose every digit.
			var mean float64
			for c, v := range row {
				p[c] /= sum
				mean += p[c] * v
				g += p[c] * (v - row[yi])
			}
			for c, v := range row {
				h += p[c] * (v - mean) * (v - mean)
			}
		}
		if !(h > 0) {
			if g < 0 { // the loss still falls as s grows: the scores separate every row
				s = sMax
			}
			break
		}
		step := g / h
		next := math.Min(math.Max(s-step, s/4), 4*s)
		next = math.Min(math.Max(next, sMin), sMax)
		if math.Abs(next-s) <= 1e-6*s {
			s = next
			break
		}
		s = next
	}
	return s
}
