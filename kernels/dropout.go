package kernels

// DropoutForward applies inverted dropout: each element is kept with probability 1-p and scaled by
// 1/(1-p), so the expected output equals the input and inference needs no rescaling.
//
//	x (n), out (n), mask (n) receives 0 or 1/(1-p) for the backward pass; 0 <= p < 1.
//	The mask is drawn from rng, so the same seed gives the same masks everywhere.
func DropoutForward(out, mask, x []float32, p float32, rng *RNG, n int) {
	if len(out) < n || len(mask) < n || len(x) < n {
		panic("kernels: DropoutForward: slice too short")
	}
	if p < 0 || p >= 1 {
		panic("kernels: DropoutForward: p outside [0, 1)")
	}
	out, mask, x = out[:n], mask[:n], x[:n]
	scale := 1 / (1 - p)
	for i := range x {
		m := scale
		if rng.Float32() < p {
			m = 0
		}
		mask[i] = m
		out[i] = x[i] * m
	}
}

// DropoutBackward accumulates dx += dout·mask.
//
//	dout (n), mask (n) from DropoutForward, dx (n)
func DropoutBackward(dx, dout, mask []float32, n int) {
	if len(dx) < n || len(dout) < n || len(mask) < n {
		panic("kernels: DropoutBackward: slice too short")
	}
	dx, dout, mask = dx[:n], dout[:n], mask[:n]
	for i, m := range mask {
		dx[i] += dout[i] * m
	}
}
