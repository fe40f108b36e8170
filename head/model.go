// Package head holds the classifier heads that are trained on frozen backbone features: a linear
// head (softmax regression) and an MLP with one or two hidden layers, the trainer that fits them,
// the automatic linear probe, metrics, and the .safetensors head file.
//
// Everything runs on the float32 kernels of package kernels, allocates its buffers once per
// training run, and gives the same result for the same seed natively and under wasm.
package head

import (
	"fmt"
	"math"

	"finetuner/kernels"
)

// Arch is the shape of a head.
type Arch struct {
	// Hidden lists the widths of the hidden layers: empty for a linear head, one or two for an MLP.
	Hidden []int `json:"hidden"`
	// Activation of the hidden layers: "relu" or "gelu".
	Activation string `json:"activation,omitempty"`
	// Dropout probability after each hidden activation, in [0, 1).
	Dropout float32 `json:"dropout,omitempty"`
	// NoOutputBias drops the bias of the last layer (Teachable Machine's head has none).
	NoOutputBias bool `json:"noOutputBias,omitempty"`
}

// Kind returns "linear" or "mlp".
func (a Arch) Kind() string {
	if len(a.Hidden) == 0 {
		return "linear"
	}
	return "mlp"
}

// Validate reports what is wrong with the architecture, if anything.
func (a Arch) Validate() error {
	if len(a.Hidden) > 2 {
		return fmt.Errorf("head: %d hidden layers; use 0 (linear), 1 or 2", len(a.Hidden))
	}
	for _, h := range a.Hidden {
		if h < 1 || h > 8192 {
			return fmt.Errorf("head: hidden width %d outside 1..8192", h)
		}
	}
	switch a.Activation {
	case "", "relu", "gelu":
	default:
		return fmt.Errorf("head: unknown activation %q (use relu or gelu)", a.Activation)
	}
	if !(a.Dropout >= 0 && a.Dropout < 1) {
		return fmt.Errorf("head: dropout %v outside [0, 1)", a.Dropout)
	}
	return nil
}

// Model is a trained (or initialised) head: its layers, the labels of its outputs and the
// feature standardisation it was trained with.
type Model struct {
	Arch   Arch
	D, C   int      // feature dimension, number of classes
	Labels []string // C class names, in output order
	// Mean and Std standardise each feature: x' = (x − Mean)/Std. Both nil: features are used as is.
	Mean, Std []float32
	// Params holds every weight and bias in one allocation; layers are views into it.
	Params []float32
	Meta   Meta
	// Backbone is nil for a head on frozen features; a head trained together with the last
	// blocks of its backbone carries their new weights here.
	Backbone *Finetuned

	layers []dense
	ws     *workspace // inference scratch, made on first use
}

// Meta is what a head file records besides the weights.
type Meta struct {
	BackboneID string             `json:"backbone,omitempty"`
	Tap        string             `json:"tap,omitempty"`
	Config     *Config            `json:"config,omitempty"`
	Metrics    map[string]float64 `json:"metrics,omitempty"`
	Created    string             `json:"created,omitempty"`
}

// dense is one layer: w (out,in) and b (out) or nil, views into Model.Params.
type dense struct {
	in, out int
	w, b    []float32
}

// NewModel returns a head with Glorot-uniform weights and zero biases, drawn from rng.
func NewModel(arch Arch, D int, labels []string, rng *kernels.RNG) (*Model, error) {
	if err := arch.Validate(); err != nil {
		return nil, err
	}
	if D < 1 {
		return nil, fmt.Errorf("head: feature dimension %d < 1", D)
	}
	if len(labels) < 2 {
		return nil, fmt.Errorf("head: %d classes; a classifier needs at least 2", len(labels))
	}
	m := &Model{Arch: arch, D: D, C: len(labels), Labels: append([]string(nil), labels...)}
	m.Params = make([]float32, m.paramCount())
	m.bindLayers()
	for _, l := range m.layers {
		limit := float32(math.Sqrt(6 / float64(l.in+l.out)))
		for i := range l.w {
			l.w[i] = (2*rng.Float32() - 1) * limit
		}
	}
	return m, nil
}

func (m *Model) dims() []int {
	d := append([]int{m.D}, m.Arch.Hidden...)
	return append(d, m.C)
}

func (m *Model) paramCount() int {
	d := m.dims()
	n := 0
	for i := 0; i+1 < len(d); i++ {
		n += d[i] * d[i+1]
		if i+2 < len(d) || !m.Arch.NoOutputBias {
			n += d[i+1]
		}
	}
	return n
}

// Layer is one dense layer of a head, as views into Params: W (Out,In) row-major, B (Out) or
// nil when the layer has no bias. out = W·in + B.
type Layer struct {
	In, Out int
	W, B    []float32
}

// Layers returns the head's layers in order, for exporters; the hidden layers are followed by
// Arch.Activation.
func (m *Model) Layers() []Layer {
	out := make([]Layer, len(m.layers))
	for i, l := range m.layers {
		out[i] = Layer{In: l.in, Out: l.out, W: l.w, B: l.b}
	}
	return out
}

// bindLayers carves the layer views out of Params.
func (m *Model) bindLayers() {
	d := m.dims()
	m.layers = m.layers[:0]
	off := 0
	for i := 0; i+1 < len(d); i++ {
		l := dense{in: d[i], out: d[i+1]}
		l.w = m.Params[off : off+l.in*l.out : off+l.in*l.out]
		off += l.in * l.out
		if i+2 < len(d) || !m.Arch.NoOutputBias {
			l.b = m.Params[off : off+l.out : off+l.out]
			off += l.out
		}
		m.layers = append(m.layers, l)
	}
}

// workspace holds the activations of a forward/backward pass over at most B rows.
type workspace struct {
	B     int
	x     []float32   // (B,D) standardised input
	z     [][]float32 // per layer (B,out) pre-activation; the last is the logits
	a     [][]float32 // per hidden layer (B,out) after the activation
	mask  [][]float32 // per hidden layer dropout mask
	h     [][]float32 // per hidden layer input of the next layer (a, or a after dropout)
	probs []float32   // (B,C)
	dz    [][]float32
	dh    [][]float32
	y     []int32
	pred  []int32
}

func (m *Model) newWorkspace(B int, train bool) *workspace {
	ws := &workspace{B: B, x: make([]float32, B*m.D), probs: make([]float32, B*m.C), y: make([]int32, B), pred: make([]int32, B)}
	for i, l := range m.layers {
		ws.z = append(ws.z, make([]float32, B*l.out))
		if train {
			ws.dz = append(ws.dz, make([]float32, B*l.out))
		}
		if i+1 < len(m.layers) {
			a := make([]float32, B*l.out)
			ws.a = append(ws.a, a)
			h := a
			if train && m.Arch.Dropout > 0 {
				h = make([]float32, B*l.out)
				ws.mask = append(ws.mask, make([]float32, B*l.out))
			}
			ws.h = append(ws.h, h)
			if train {
				ws.dh = append(ws.dh, make([]float32, B*l.out))
			}
		}
	}
	return ws
}

// standardize writes (x − Mean)/Std of n rows of src into dst.
func (m *Model) standardize(dst, src []float32, n int) {
	D := m.D
	if m.Mean == nil {
		copy(dst[:n*D], src[:n*D])
		return
	}
	for r := 0; r < n; r++ {
		s, d := src[r*D:r*D+D], dst[r*D:r*D+D]
		for k := range d {
			d[k] = (s[k] - m.Mean[k]) / m.Std[k]
		}
	}
}

// forward runs the layers on ws.x (n rows, already standardised); the logits land in the last z.
// With train set, dropout draws its masks from rng.
func (m *Model) forward(ws *workspace, n int, train bool, rng *kernels.RNG) []float32 {
	in := ws.x
	for i, l := range m.layers {
		z := ws.z[i][:n*l.out]
		kernels.LinearForward(z, in, l.w, l.b, n, l.in, l.out)
		if i+1 == len(m.layers) {
			return z
		}
		a := ws.a[i][:n*l.out]
		if m.Arch.Activation == "gelu" {
			kernels.GELUForward(a, z, n*l.out)
		} else {
			kernels.ReLUForward(a, z, n*l.out)
		}
		in = a
		if train && m.Arch.Dropout > 0 {
			h := ws.h[i][:n*l.out]
			kernels.DropoutForward(h, ws.mask[i][:n*l.out], a, m.Arch.Dropout, rng, n*l.out)
			in = h
		}
	}
	panic("unreachable")
}

// backward accumulates the parameter gradients into grads (laid out like Params) from the logits
// gradient already in the last dz.
func (m *Model) backward(ws *workspace, grads []float32, n int) {
	off := m.paramOffsets()
	for i := len(m.layers) - 1; i >= 0; i-- {
		l := m.layers[i]
		var in []float32
		if i == 0 {
			in = ws.x[:n*l.in]
		} else {
			in = ws.h[i-1][:n*l.in]
		}
		gw := grads[off[i] : off[i]+l.in*l.out]
		var gb []float32
		if l.b != nil {
			gb = grads[off[i]+l.in*l.out : off[i]+l.in*l.out+l.out]
		}
		var dx []float32
		if i > 0 {
			dx = ws.dh[i-1][:n*l.in]
			clear(dx)
		}
		kernels.LinearBackward(dx, gw, gb, ws.dz[i][:n*l.out], in, l.w, n, l.in, l.out)
		if i == 0 {
			break
		}
		// Through dropout and the activation of hidden layer i-1 into dz[i-1].
		dz := ws.dz[i-1][:n*l.in]
		clear(dz)
		da := dx
		if m.Arch.Dropout > 0 {
			da = ws.h[i-1][:n*l.in] // reuse: the dropout output is no longer needed
			clear(da)
			kernels.DropoutBackward(da, dx, ws.mask[i-1][:n*l.in], n*l.in)
		}
		if m.Arch.Activation == "gelu" {
			kernels.GELUBackward(dz, da, ws.z[i-1][:n*l.in], n*l.in)
		} else {
			kernels.ReLUBackward(dz, da, ws.a[i-1][:n*l.in], n*l.in)
		}
	}
}

// paramOffsets returns where each layer starts in Params.
func (m *Model) paramOffsets() [3]int {
	var off [3]int
	o := 0
	for i, l := range m.layers {
		off[i] = o
		o += l.in * l.out
		if l.b != nil {
			o += l.out
		}
	}
	return off
}

// Predict writes class probabilities (n,C) for n feature rows x (n,D). Rows with NaN or Inf are
// rejected with an error naming the row. It allocates only on the first call.
func (m *Model) Predict(probs, x []float32, n int) error {
	if n < 0 || len(x) < n*m.D {
		return fmt.Errorf("head: %d values for %d rows of %d features", len(x), n, m.D)
	}
	if len(probs) < n*m.C {
		return fmt.Errorf("head: probability buffer holds %d values, need %d", len(probs), n*m.C)
	}
	if err := CheckFinite(x[:n*m.D], m.D); err != nil {
		return err
	}
	// Up to 64 rows at a time; a workspace only as large as the calls so far need (one row for a
	// live prediction or the load-time check).
	if B := min(max(n, 1), 64); m.ws == nil || m.ws.B < B {
		m.ws = m.newWorkspace(B, false)
	}
	for r := 0; r < n; r += m.ws.B {
		k := min(m.ws.B, n-r)
		m.standardize(m.ws.x, x[r*m.D:], k)
		logits := m.forward(m.ws, k, false, nil)
		for i, v := range logits[:k*m.C] {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("head: the output for row %d is %v, not a finite number: the features, or the head's weights, are too large and overflow float32 (send the backbone's features as they are)", r+i/m.C, v)
			}
		}
		kernels.Softmax(probs[r*m.C:(r+k)*m.C], logits, k, m.C)
	}
	return nil
}

// CheckFinite returns an error naming the first row (of width D) holding a NaN or an infinity.
func CheckFinite(x []float32, D int) error {
	for i, v := range x {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("head: feature row %d, column %d is %v; features must be finite numbers", i/D, i%D, v)
		}
	}
	return nil
}
