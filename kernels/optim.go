package kernels

import "math"

// The optimizers update one parameter tensor in place from its gradient. The trainer keeps all
// parameters in one buffer and calls a step once per tensor, so weights and biases can take
// different decay (biases take none).
//
// Two kinds of decay, as in the AdamW paper (Loshchilov & Hutter, "Decoupled Weight Decay
// Regularization"): l2 adds l2·p to the gradient before the update (classic L2 regularisation,
// which Adam then rescales), wd shrinks the weights directly by lr·wd·p (decoupled, AdamW).

// SGDStep does one step of SGD with momentum (heavy ball or Nesterov).
//
//	p (n) parameters, g (n) gradient, vel (n) velocity state (zero at the start)
//	g' = g + l2·p;  vel = momentum·vel + g';  step = nesterov ? g' + momentum·vel : vel
//	p -= lr·step + lr·wd·p
func SGDStep(p, g, vel []float32, lr, momentum, l2, wd float32, nesterov bool, n int) {
	if len(p) < n || len(g) < n || len(vel) < n {
		panic("kernels: SGDStep: slice too short")
	}
	p, g, vel = p[:n], g[:n], vel[:n]
	for i := range p {
		gi := g[i] + l2*p[i]
		v := momentum*vel[i] + gi
		vel[i] = v
		step := v
		if nesterov {
			step = gi + momentum*v
		}
		p[i] -= lr*step + lr*wd*p[i]
	}
}

// AdamStep does one step of Adam (Kingma & Ba), or AdamW when wd > 0.
//
//	p (n), g (n), m (n) and v (n) moment state (zero at the start), t the 1-based step count
//	g' = g + l2·p;  m = β1·m + (1−β1)·g';  v = β2·v + (1−β2)·g'²
//	p -= lr·(m/(1−β1ᵗ)) / (√(v/(1−β2ᵗ)) + eps) + lr·wd·p
func AdamStep(p, g, m, v []float32, lr, beta1, beta2, eps, l2, wd float32, t, n int) {
	if len(p) < n || len(g) < n || len(m) < n || len(v) < n {
		panic("kernels: AdamStep: slice too short")
	}
	if t < 1 {
		panic("kernels: AdamStep: t < 1")
	}
	p, g, m, v = p[:n], g[:n], m[:n], v[:n]
	c1 := float32(1 / (1 - math.Pow(float64(beta1), float64(t))))
	c2 := float32(1 / (1 - math.Pow(float64(beta2), float64(t))))
	for i := range p {
		gi := g[i] + l2*p[i]
		mi := beta1*m[i] + (1-beta1)*gi
		vi := beta2*v[i] + (1-beta2)*gi*gi
		m[i], v[i] = mi, vi
		p[i] -= lr*(mi*c1)/(float32(math.Sqrt(float64(vi*c2)))+eps) + lr*wd*p[i]
	}
}

// SumSquares returns Σ g², in float64.
func SumSquares(g []float32) float64 {
	var s float64
	for _, v := range g {
		s += float64(v) * float64(v)
	}
	return s
}

// ClipGradNorm scales g so that its L2 norm is at most maxNorm and returns the norm before
// clipping. g is usually the whole gradient buffer, so this is clipping by global norm.
func ClipGradNorm(g []float32, maxNorm float32) float64 {
	norm := math.Sqrt(SumSquares(g))
	if maxNorm > 0 && norm > float64(maxNorm) {
		s := float32(float64(maxNorm) / norm)
		for i := range g {
			g[i] *= s
		}
	}
	return norm
}
