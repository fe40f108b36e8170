package backbone

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"finetuner/kernels"
)

// A Section is a stretch of a model's compiled graph, from one tensor (the input image, or the
// output of a node) to another, run with every intermediate tensor kept so that it can also run
// backward: to the weights of its layers (fine-tuning the last blocks) and to its input (the
// mimicry attack's gradient with respect to the image). Forward reuses no buffer, so a section
// over the whole network at 224 holds 53 MB (centernet) or 88 MB (mobilenetv2) of activations and
// their gradients; the last two blocks hold about 3.5 MB (Bytes).
//
// A Section made trainable owns copies of its layers' weights: training it leaves the Model and
// its clones as they were, and Weights hands the trained values back (for the head file and for
// Model.WithWeights).
type Section struct {
	steps    []step
	from, to int // buffers: the section's input and output
	size     []int
	vals     [][]float32 // forward value of each buffer id in the section, nil otherwise
	grads    [][]float32 // their gradients
	dpre     []float32   // a convolution's gradient before its fused activation
	col      []float32
	dcol     []float32
	params   []Param
	inShape  []int
	outShape []int
}

// Param is one trainable tensor of a Section: a convolution's weights or bias (batch-norm is
// folded into them in these graphs, so the bias is the batch-norm's affine shift).
//
//	Conv2D weights (OC,KH,KW,C), depthwise weights (KH,KW,C), biases (OC)
type Param struct {
	Node  string // the GraphDef node of the convolution
	Kind  string // "weight" or "bias"
	Shape []int
	W, G  []float32 // values and accumulated gradient
}

// Name is the tensor's name in a head file: "backbone.<node>.<kind>".
func (p Param) Name() string { return "backbone." + p.Node + "." + p.Kind }

// Block is a run of steps of one inverted-residual block (MobileNet's "expanded_conv_N"), as
// Blocks lists them.
type Block struct {
	Name  string // e.g. "expanded_conv_13"
	Cut   string // the node whose output is the block's input
	First int    // index of its first step
}

var blockRE = regexp.MustCompile(`(^|/)(expanded_conv(_\d+)?)/`)

// Blocks lists the model's inverted-residual blocks in order, with the node each one reads its
// input from. The steps after the last block (MobileNetV3's extern1 1×1 convolution, MobileNetV2's
// Conv_1 and pooling) belong to no block: fine-tuning the last N blocks trains them too.
func (m *Model) Blocks() []Block {
	var out []Block
	producer := map[int]string{}
	for i, s := range m.g.steps {
		if mm := blockRE.FindStringSubmatch(s.node); mm != nil && (len(out) == 0 || out[len(out)-1].Name != mm[2]) {
			cut := producer[s.in0]
			if s.in0 == m.g.inBuf {
				cut = ""
			}
			out = append(out, Block{Name: mm[2], Cut: cut, First: i})
		}
		producer[s.out] = s.node
	}
	return out
}

// FinetuneCut returns the node below the last n blocks: the tensor whose value is cached once
// per image when those blocks are fine-tuned, and the last frozen layer the mimicry attack aims
// at. It also names the blocks.
func (m *Model) FinetuneCut(n int) (cut string, blocks []string, err error) {
	bl := m.Blocks()
	if n < 1 || n >= len(bl) {
		return "", nil, fmt.Errorf("backbone: %d blocks to fine-tune; %s has %d inverted-residual blocks, use 1..%d", n, m.info.ID, len(bl), len(bl)-1)
	}
	for _, b := range bl[len(bl)-n:] {
		blocks = append(blocks, b.Name)
	}
	return bl[len(bl)-n].Cut, blocks, nil
}

// Nodes returns the node of every step of the compiled graph, input to tap: the names From and
// To of Section accept.
func (m *Model) Nodes() []string {
	out := make([]string, len(m.g.steps))
	for i, s := range m.g.steps {
		out[i] = s.node
	}
	return out
}

// Section returns the stretch of the graph from the output of node from ("" for the input image)
// to the output of node to ("" for the tap, before pooling). With trainable set, every
// convolution in it gets its own copy of its weights and their gradients (Params).
func (m *Model) Section(from, to string, trainable bool) (*Section, error) {
	g := m.g
	producer := map[string]int{}
	for i, st := range g.steps {
		producer[st.node] = i
	}
	inBuf, first := g.inBuf, 0
	if from != "" {
		i, ok := producer[from]
		if !ok {
			return nil, fmt.Errorf("backbone: node %q is not on %s's path to its tap", from, m.info.ID)
		}
		inBuf, first = g.steps[i].out, i+1
	}
	outBuf, last := g.outBuf, len(g.steps)-1
	if to != "" {
		i, ok := producer[to]
		if !ok {
			return nil, fmt.Errorf("backbone: node %q is not on %s's path to its tap", to, m.info.ID)
		}
		outBuf, last = g.steps[i].out, i
	}
	if last < first {
		return nil, fmt.Errorf("backbone: node %q comes after %q", from, to)
	}
	s := &Section{steps: slices.Clone(g.steps[first : last+1]), from: inBuf, to: outBuf, size: g.bufSize}
	s.vals = make([][]float32, len(g.bufSize))
	s.grads = make([][]float32, len(g.bufSize))
	alloc := func(b int) {
		if s.vals[b] == nil {
			s.vals[b] = make([]float32, g.bufSize[b])
			s.grads[b] = make([]float32, g.bufSize[b])
		}
	}
	alloc(inBuf)
	var dpre, col int
	for i := range s.steps {
		st := &s.steps[i]
		for _, b := range []int{st.in0, st.in1} {
			if b >= 0 && s.vals[b] == nil {
				return nil, fmt.Errorf("backbone: node %q reads a tensor from below %q; a section must start at a node every later step goes through", st.node, from)
			}
		}
		alloc(st.out)
		if st.kind == opConv || st.kind == opDepthwise {
			dpre = max(dpre, g.bufSize[st.out])
			if st.kind == opConv && !(st.KH == 1 && st.KW == 1 && st.stride == 1) {
				col = max(col, st.OH*st.OW*st.KH*st.KW*st.C)
			}
			if trainable {
				st.w, st.pw = slices.Clone(st.w), nil
				s.params = append(s.params, Param{Node: st.node, Kind: "weight", Shape: weightShape(st), W: st.w, G: make([]float32, len(st.w))})
				if st.bias != nil {
					st.bias = slices.Clone(st.bias)
					s.params = append(s.params, Param{Node: st.node, Kind: "bias", Shape: []int{len(st.bias)}, W: st.bias, G: make([]float32, len(st.bias))})
				}
			}
		}
	}
	s.dpre = make([]float32, dpre)
	s.col = make([]float32, col)
	s.dcol = make([]float32, col)
	s.inShape = bufShape(g, inBuf)
	s.outShape = bufShape(g, outBuf)
	return s, nil
}

func weightShape(st *step) []int {
	if st.kind == opDepthwise {
		return []int{st.KH, st.KW, st.C}
	}
	return []int{st.OC, st.KH, st.KW, st.C}
}

// bufShape returns a buffer's (H,W,C), its declared shape without the batch dimension.
func bufShape(g *graph, b int) []int {
	sh := g.bufShape[b]
	if len(sh) == 4 {
		return slices.Clone(sh[1:])
	}
	return slices.Clone(sh)
}

// InShape and OutShape return the (H,W,C) of the section's input and output.
func (s *Section) InShape() []int  { return s.inShape }
func (s *Section) OutShape() []int { return s.outShape }

// Params returns the trainable tensors (nil unless the section was made trainable).
func (s *Section) Params() []Param { return s.params }

// ZeroGrad clears the parameter gradients; Backward accumulates into them.
func (s *Section) ZeroGrad() {
	for _, p := range s.params {
		clear(p.G)
	}
}

// Forward runs the section on x (InShape's elements) and returns its output, a view valid until
// the next Forward.
func (s *Section) Forward(x []float32) []float32 {
	in := s.vals[s.from]
	if len(x) != len(in) {
		panic(fmt.Sprintf("backbone: Section.Forward input has %d values, want %d", len(x), len(in)))
	}
	copy(in, x)
	for i := range s.steps {
		st := &s.steps[i]
		out := s.vals[st.out]
		switch st.kind {
		case opConv:
			st.conv(out, s.vals[st.in0], s.col)
		case opDepthwise:
			kernels.DepthwiseConv2D(out, s.vals[st.in0], st.w, st.bias, st.H, st.W, st.C, st.KH, st.KW, st.stride, st.pt, st.pl, st.OH, st.OW, st.act)
		case opAvgPool:
			kernels.AvgPool2D(out, s.vals[st.in0], st.H, st.W, st.C, st.KH, st.KW, st.stride, st.pt, st.pl, st.OH, st.OW)
		case opMean:
			kernels.MeanHW(out, s.vals[st.in0], st.H, st.W, st.C)
		case opUnary:
			if st.act == kernels.FusedRelu {
				kernels.Relu(out, s.vals[st.in0])
			} else {
				kernels.Relu6(out, s.vals[st.in0])
			}
		case opHardSwish:
			kernels.HardSwishScaled(out, s.vals[st.in0], st.k, st.shift)
		case opBinary:
			a, b := st.ka, st.kb
			if st.in0 >= 0 {
				a = s.vals[st.in0]
			}
			if st.in1 >= 0 {
				b = s.vals[st.in1]
			}
			binaryStep(out, a, b, st)
		}
	}
	return s.vals[s.to]
}

// Backward takes the gradient of a loss with respect to the last Forward's output (OutShape's
// elements), adds the parameters' gradients into Params' G, and returns the gradient with respect
// to the section's input (a view valid until the next Backward).
func (s *Section) Backward(dout []float32) []float32 {
	for i, g := range s.grads {
		if g != nil && i != s.to {
			clear(g)
		}
	}
	if len(dout) != len(s.grads[s.to]) {
		panic(fmt.Sprintf("backbone: Section.Backward gradient has %d values, want %d", len(dout), len(s.grads[s.to])))
	}
	copy(s.grads[s.to], dout)
	pi := len(s.params)
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := &s.steps[i]
		dy, y := s.grads[st.out], s.vals[st.out]
		var dx []float32
		if st.in0 >= 0 {
			dx = s.grads[st.in0]
		}
		switch st.kind {
		case opConv, opDepthwise:
			var dw, db []float32
			if s.params != nil {
				if st.bias != nil {
					pi--
					db = s.params[pi].G
				}
				pi--
				dw = s.params[pi].G
			}
			d := dy
			if st.act != kernels.FusedNone {
				d = s.dpre[:len(dy)]
				clear(d)
				kernels.ActBackward(d, dy, y, st.act)
			}
			if st.kind == opConv {
				kernels.Conv2DBackward(dx, dw, db, d, s.vals[st.in0], st.w, s.col, s.dcol, st.H, st.W, st.C, st.OC, st.KH, st.KW, st.stride, st.pt, st.pl, st.OH, st.OW)
			} else {
				kernels.DepthwiseConv2DBackward(dx, dw, db, d, s.vals[st.in0], st.w, st.H, st.W, st.C, st.KH, st.KW, st.stride, st.pt, st.pl, st.OH, st.OW)
			}
		case opAvgPool:
			kernels.AvgPool2DBackward(dx, dy, st.H, st.W, st.C, st.KH, st.KW, st.stride, st.pt, st.pl, st.OH, st.OW)
		case opMean:
			kernels.MeanHWBackward(dx, dy, st.H, st.W, st.C)
		case opUnary:
			kernels.ActBackward(dx, dy, y, st.act)
		case opHardSwish:
			kernels.HardSwishScaledBackward(dx, dy, s.vals[st.in0], st.k, st.shift)
		case opBinary:
			s.binaryBackward(st, dy)
		}
	}
	return s.grads[s.from]
}

// binaryBackward adds the gradients of out = a op b (NumPy broadcasting) into the dynamic
// operands' gradients; constant operands have none.
func (s *Section) binaryBackward(st *step, dout []float32) {
	a, b := st.ka, st.kb
	var da, db []float32
	if st.in0 >= 0 {
		a, da = s.vals[st.in0], s.grads[st.in0]
	}
	if st.in1 >= 0 {
		b, db = s.vals[st.in1], s.grads[st.in1]
	}
	// sa, sb: the sign of each operand in a subtraction, whose order the step may have swapped.
	sa, sb := float32(1), float32(1)
	if st.op == binSub {
		sb = -1
		if st.swap {
			sa, sb = -1, 1
		}
	}
	if st.bc == bcSame || st.bc == bcScalar || st.bc == bcChannel {
		nb := len(b)
		if st.bc == bcSame {
			nb = len(dout)
		}
		for i, g := range dout {
			j := i % nb
			switch st.op {
			case binMul:
				if da != nil {
					da[i] += g * b[j]
				}
				if db != nil {
					db[j] += g * a[i]
				}
			default:
				if da != nil {
					da[i] += sa * g
				}
				if db != nil {
					db[j] += sb * g
				}
			}
		}
		return
	}
	pad := func(sh []int) [4]int {
		p := [4]int{1, 1, 1, 1}
		copy(p[4-len(sh):], sh)
		return p
	}
	A, B, O := pad(st.aShape), pad(st.bShape), pad(st.outShape)
	strides := func(sh [4]int) [4]int {
		var r [4]int
		n := 1
		for i := 3; i >= 0; i-- {
			if sh[i] != 1 {
				r[i] = n
			}
			n *= sh[i]
		}
		return r
	}
	ta, tb := strides(A), strides(B)
	i := 0
	for d0 := 0; d0 < O[0]; d0++ {
		for d1 := 0; d1 < O[1]; d1++ {
			for d2 := 0; d2 < O[2]; d2++ {
				for d3 := 0; d3 < O[3]; d3++ {
					ia := d0*ta[0] + d1*ta[1] + d2*ta[2] + d3*ta[3]
					ib := d0*tb[0] + d1*tb[1] + d2*tb[2] + d3*tb[3]
					g := dout[i]
					i++
					if st.op == binMul {
						if da != nil {
							da[ia] += g * b[ib]
						}
						if db != nil {
							db[ib] += g * a[ia]
						}
						continue
					}
					if da != nil {
						da[ia] += sa * g
					}
					if db != nil {
						db[ib] += sb * g
					}
				}
			}
		}
	}
}

// WithWeights returns a Model that shares m's graph except for the tensors given, which replace
// the weights of the named convolutions (a fine-tuned head's backbone tensors, named as
// Param.Name gives). m and its clones are unchanged. Every name must be a convolution of this
// graph and every size must match, or the error says which is not.
func (m *Model) WithWeights(tensors map[string][]float32) (*Model, error) {
	g := *m.g
	g.steps = slices.Clone(m.g.steps)
	byNode := map[string]int{}
	for i, st := range g.steps {
		if st.kind == opConv || st.kind == opDepthwise {
			byNode[st.node] = i
		}
	}
	for name, v := range tensors {
		rest, ok := strings.CutPrefix(name, "backbone.")
		if !ok {
			return nil, fmt.Errorf("backbone: tensor %q is not a backbone tensor", name)
		}
		node, kind := rest, ""
		if i := strings.LastIndexByte(rest, '.'); i >= 0 {
			node, kind = rest[:i], rest[i+1:]
		}
		i, ok := byNode[node]
		if !ok {
			return nil, fmt.Errorf("backbone: the head changes layer %q, which backbone %q does not have on its path to the tap (was the head fine-tuned on another backbone?)", node, m.info.ID)
		}
		st := &g.steps[i]
		var dst []float32
		switch kind {
		case "weight":
			dst = st.w
		case "bias":
			dst = st.bias
		default:
			return nil, fmt.Errorf("backbone: tensor %q: want a .weight or .bias", name)
		}
		if len(v) != len(dst) {
			return nil, fmt.Errorf("backbone: the head's %s has %d values but backbone %q's has %d (was the head fine-tuned on another backbone?)", name, len(v), m.info.ID, len(dst))
		}
		if kind == "weight" {
			st.w = slices.Clone(v)
			if st.kind == opConv {
				st.pw = kernels.PackWeights(st.w, st.OC, len(st.w)/st.OC)
			}
		} else {
			st.bias = slices.Clone(v)
		}
	}
	c := &Model{info: m.info, g: &g}
	c.alloc()
	return c, nil
}

// Bytes returns the memory the section holds for activations, their gradients and scratch.
func (s *Section) Bytes() int64 {
	n := len(s.dpre) + len(s.col) + len(s.dcol)
	for i := range s.vals {
		n += len(s.vals[i]) + len(s.grads[i])
	}
	return 4 * int64(n)
}
