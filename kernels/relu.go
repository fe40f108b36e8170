package kernels

// ReLUForward computes out = max(x, 0).
//
//	x (n), out (n); out and x may be the same slice.
func ReLUForward(out, x []float32, n int) {
	if len(out) < n || len(x) < n {
		panic("kernels: ReLUForward: slice too short")
	}
	out, x = out[:n], x[:n]
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		out[i] = v
	}
}

// ReLUBackward accumulates dx += dout where the forward output was positive.
//
//	out (n) is the forward output, dout (n), dx (n)
func ReLUBackward(dx, dout, out []float32, n int) {
	if len(dx) < n || len(dout) < n || len(out) < n {
		panic("kernels: ReLUBackward: slice too short")
	}
	dx, dout, out = dx[:n], dout[:n], out[:n]
	for i, y := range out {
		if y > 0 {
			dx[i] += dout[i]
		}
	}
}
