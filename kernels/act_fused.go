package kernels

// FusedAct names the activation a convolution applies to its output before storing it, so that a
// layer makes one pass over memory instead of two.
type FusedAct int

// The activations a TF.js graph fuses into its convolutions, plus hard-swish (x·relu6(x+3)/6).
const (
	FusedNone      FusedAct = iota // identity
	FusedRelu                      // max(x, 0)
	FusedRelu6                     // min(max(x, 0), 6)
	FusedHardSwish                 // x·relu6(x+3)/6
)

// String returns the activation's name as the model files spell it.
func (a FusedAct) String() string {
	switch a {
	case FusedNone:
		return "None"
	case FusedRelu:
		return "Relu"
	case FusedRelu6:
		return "Relu6"
	case FusedHardSwish:
		return "HardSwish"
	}
	return "FusedAct(?)"
}

// actApply applies act to x in place.
func actApply(x []float32, act FusedAct) {
	switch act {
	case FusedNone:
	case FusedRelu:
		Relu(x, x)
	case FusedRelu6:
		Relu6(x, x)
	case FusedHardSwish:
		HardSwish(x, x)
	default:
		panic("kernels: unknown FusedAct")
	}
}

// Relu computes out[i] = max(x[i], 0). out and x may be the same slice.
func Relu(out, x []float32) {
	if len(out) < len(x) {
		panic("kernels: len(out) < len(x)")
	}
	relu(out[:len(x)], x)
}

// reluScalar is Relu's loop; relu is it, or its SIMD128 form (act_simd.go), which gives the same
// bits. len(out) == len(x).
func reluScalar(out, x []float32) {
	for i, v := range x {
		if v < 0 {
			v = 0
		}
		out[i] = v
	}
}

// Relu6 computes out[i] = min(max(x[i], 0), 6). out and x may be the same slice.
func Relu6(out, x []float32) {
	if len(out) < len(x) {
		panic("kernels: len(out) < len(x)")
	}
	relu6(out[:len(x)], x)
}

// relu6Scalar is Relu6's loop; relu6 is it, or its SIMD128 form (same bits). len(out) == len(x).
func relu6Scalar(out, x []float32) {
	for i, v := range x {
		if v < 0 {
			v = 0
		} else if v > 6 {
			v = 6
		}
		out[i] = v
	}
}

// HardSwish computes out[i] = x[i]·relu6(x[i]+3)/6, MobileNetV3's activation. out and x may be the
// same slice.
func HardSwish(out, x []float32) {
	HardSwishScaled(out, x, 1.0/6, 3)
}

// HardSwishScaled computes out[i] = (x[i]·k)·relu6(x[i]+shift), hard-swish with the constants a
// graph actually stores (TF.js float16 weights make 1/6 into 0.16662598), in the graph's order of
// operations so that float32 results match it bit for bit. out and x may be the same slice.
func HardSwishScaled(out, x []float32, k, shift float32) {
	if len(out) < len(x) {
		panic("kernels: len(out) < len(x)")
	}
	hardSwish(out[:len(x)], x, k, shift)
}

// hardSwishScalar is HardSwishScaled's loop; hardSwish is it, or its SIMD128 form (same bits).
// len(out) == len(x).
func hardSwishScalar(out, x []float32, k, shift float32) {
	for i, v := range x {
		r := v + shift
		if r < 0 {
			r = 0
		} else if r > 6 {
			r = 6
		}
		out[i] = (v * k) * r
	}
}

// ActBackward accumulates the gradient of a fused activation through its output y:
//
//	dx[i] += dout[i] · act'(y[i])    None: 1; Relu: y > 0; Relu6: 0 < y < 6
//
// The output alone decides the derivative of these three (at the kinks the derivative is taken as
// 0, as TF does). Hard-swish needs its input: use HardSwishScaledBackward.
func ActBackward(dx, dout, y []float32, act FusedAct) {
	if len(dx) < len(dout) || len(y) < len(dout) {
		panic("kernels: ActBackward slice too short")
	}
	y = y[:len(dout)]
	dx = dx[:len(dout)]
	switch act {
	case FusedNone:
		for i, g := range dout {
			dx[i] += g
		}
	case FusedRelu:
		for i, g := range dout {
			if y[i] > 0 {
				dx[i] += g
			}
		}
	case FusedRelu6:
		for i, g := range dout {
			if v := y[i]; v > 0 && v < 6 {
				dx[i] += g
			}
		}
	default:
		panic("kernels: ActBackward of an activation that needs its input")
	}
}

// HardSwishScaledBackward accumulates the gradient of HardSwishScaled through its input x:
//
//	y = (x·k)·r with r = relu6(x+shift)
//	dx[i] += dout[i] · (k·r + x·k·[0 < x+shift < 6])
func HardSwishScaledBackward(dx, dout, x []float32, k, shift float32) {
	if len(dx) < len(dout) || len(x) < len(dout) {
		panic("kernels: HardSwishScaledBackward slice too short")
	}
	x = x[:len(dout)]
	dx = dx[:len(dout)]
	for i, g := range dout {
		v := x[i]
		r := v + shift
		d := float32(0)
		switch {
		case r <= 0:
		case r >= 6:
			d = 6 * k
		default:
			d = k*r + v*k
		}
		dx[i] += g * d
	}
}
