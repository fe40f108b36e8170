package kernels

// Binary names an element-wise operation of two operands.
type Binary int

// The element-wise operations a backbone graph runs between feature maps (residual adds,
// squeeze-and-excitation scales) and with constants.
const (
	BinaryAdd Binary = iota // a + b
	BinarySub               // a - b
	BinaryMul               // a · b
)

// Elementwise computes out[i] = a[i] op b[i] over len(a) elements; b and out have at least as
// many. out may be a or b.
func Elementwise(out, a, b []float32, op Binary) {
	if len(b) < len(a) || len(out) < len(a) {
		panic("kernels: Elementwise slice too short")
	}
	if op < BinaryAdd || op > BinaryMul {
		panic("kernels: unknown Binary")
	}
	elementwise(out[:len(a)], a, b[:len(a)], op)
}

// elementwiseScalar is Elementwise's loop; elementwise is it, or its SIMD128 form (simd_wasm.go),
// which performs the same float32 operation per element (same bits). The slices have one length.
func elementwiseScalar(out, a, b []float32, op Binary) {
	b, out = b[:len(a)], out[:len(a)]
	switch op {
	case BinaryAdd:
		for i, x := range a {
			out[i] = x + b[i]
		}
	case BinarySub:
		for i, x := range a {
			out[i] = x - b[i]
		}
	case BinaryMul:
		for i, x := range a {
			out[i] = x * b[i]
		}
	}
}
