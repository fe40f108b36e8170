package tune

import (
	"math"

	"finetuner/backbone"
	"finetuner/kernels"
)

// Attack is the mimicry attack of Wang et al. (USENIX Security 2018) on a teacher: it perturbs a
// source image so that the teacher's representation at the student's last frozen layer K comes
// close to a target image's, under a perceptual budget. It minimises
//
//	‖R(x') − R(x_t)‖² / ‖R(x_t)‖² + Lambda · max(DSSIM(x', x_s) − Budget, 0)²
//
// over x' = (tanh(w) + 1)/2 (pixels in [0,1], so no clipping), with Adam on w. R is the section of
// the teacher from the image to layer K, averaged over space when Pool is set (a probe student
// sees the pooled vector). The result is then pulled back towards the source until its DSSIM is
// within Budget and rounded to 8-bit pixels, so the image it returns is one a PNG can hold.
type Attack struct {
	R      *backbone.Section
	Pool   bool
	Range  [2]float32 // the network's input range: pixel p in [0,1] enters as Range[0] + p·(Range[1]−Range[0])
	Iters  int
	LR     float64
	Budget float64
	Lambda float64

	dssim *DSSIM
}

// NewAttack returns an attack on the section R (image → layer K), with the paper's budget
// P = 0.003 and a learning rate and penalty that reach it on the demo photos.
func NewAttack(r *backbone.Section, pool bool, inputRange [2]float32, iters int) *Attack {
	in := r.InShape()
	return &Attack{R: r, Pool: pool, Range: inputRange, Iters: iters, LR: 0.02, Budget: 0.003, Lambda: 1e5,
		dssim: NewDSSIM(in[0], in[1], in[2])}
}

func (a *Attack) repr(x []float32, z, feat []float32) []float32 {
	lo, sc := a.Range[0], a.Range[1]-a.Range[0]
	for i, p := range x {
		z[i] = lo + sc*p
	}
	out := a.R.Forward(z)
	if !a.Pool {
		return out
	}
	sh := a.R.OutShape()
	kernels.MeanHW(feat, out, sh[0], sh[1], sh[2])
	return feat
}

// Run crafts the adversarial version of src (pixels in [0,1], (H,W,C) as the section's input)
// that mimics tgt, and returns it with its DSSIM to src and the final mimicry distance (relative).
func (a *Attack) Run(src, tgt []float32) (adv []float32, dssim, dist float64) {
	n := len(src)
	z := make([]float32, n)
	sh := a.R.OutShape()
	feat := make([]float32, sh[len(sh)-1])
	rt := append([]float32(nil), a.repr(tgt, z, feat)...)
	tn := sumSq(rt) + 1e-12
	w := make([]float32, n)
	for i, p := range src {
		q := 2*float64(p) - 1
		q = math.Max(-1+1e-6, math.Min(1-1e-6, q))
		w[i] = float32(math.Atanh(q))
	}
	x := make([]float32, n)
	gx := make([]float32, n)
	gd := make([]float32, n)
	dr := make([]float32, len(a.R.OutShape())*0+sh[0]*sh[1]*sh[2])
	opt := &adam{}
	best, bestLoss := append([]float32(nil), src...), math.Inf(1)
	dfeat := make([]float32, len(rt))
	for it := 0; it < a.Iters; it++ {
		for i, v := range w {
			x[i] = (float32(math.Tanh(float64(v))) + 1) / 2
		}
		r := a.repr(x, z, feat)
		var d2 float64
		for i, v := range r {
			d := v - rt[i]
			d2 += float64(d) * float64(d)
			dfeat[i] = float32(2 * float64(d) / tn)
		}
		if a.Pool {
			clear(dr)
			kernels.MeanHWBackward(dr, dfeat, sh[0], sh[1], sh[2])
		} else {
			copy(dr, dfeat)
		}
		dz := a.R.Backward(dr)
		sc := a.Range[1] - a.Range[0]
		for i, g := range dz {
			gx[i] = g * sc
		}
		clear(gd)
		ds := a.dssim.Eval(gd, x, src)
		loss := d2 / tn
		if ds > a.Budget {
			pen := ds - a.Budget
			loss += a.Lambda * pen * pen
			k := float32(2 * a.Lambda * pen)
			for i, g := range gd {
				gx[i] += k * g
			}
		}
		if ds <= a.Budget && loss < bestLoss {
			bestLoss = loss
			copy(best, x)
		}
		for i, v := range w {
			t := float32(math.Tanh(float64(v)))
			gx[i] *= (1 - t*t) / 2
		}
		opt.step([][]float32{w}, [][]float32{gx}, a.LR)
	}
	for i, v := range w {
		x[i] = (float32(math.Tanh(float64(v))) + 1) / 2
	}
	// The last iterate, pulled back towards the source until it fits the budget after rounding to
	// 8 bits; the best in-budget iterate if that is closer to the target.
	adv = a.fit(src, x)
	if bestLoss < math.Inf(1) {
		alt := a.fit(src, best)
		if a.dist(alt, rt, z, feat, tn) < a.dist(adv, rt, z, feat, tn) {
			adv = alt
		}
	}
	return adv, a.dssim.Eval(nil, adv, src), a.dist(adv, rt, z, feat, tn)
}

func (a *Attack) dist(x, rt, z, feat []float32, tn float64) float64 {
	r := a.repr(x, z, feat)
	var d2 float64
	for i, v := range r {
		d := float64(v - rt[i])
		d2 += d * d
	}
	return d2 / tn
}

// fit returns src + α(x − src) rounded to 8 bits, with the largest α in [0,1] (by bisection) whose
// DSSIM to src is within the budget.
func (a *Attack) fit(src, x []float32) []float32 {
	out := make([]float32, len(x))
	blend := func(alpha float32) float64 {
		for i := range x {
			v := src[i] + alpha*(x[i]-src[i])
			out[i] = float32(math.Round(float64(v)*255)) / 255
		}
		return a.dssim.Eval(nil, out, src)
	}
	if blend(1) <= a.Budget {
		return out
	}
	lo, hi := float32(0), float32(1)
	for k := 0; k < 12; k++ {
		mid := (lo + hi) / 2
		if blend(mid) <= a.Budget {
			lo = mid
		} else {
			hi = mid
		}
	}
	blend(lo)
	return out
}
