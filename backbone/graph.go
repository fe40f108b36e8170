package backbone

import (
	"fmt"
	"slices"
	"strings"

	"finetuner/kernels"
)

// A graph is a TF.js GraphDef compiled, once at load time, into a flat list of steps from the input
// placeholder to the tap node: nodes the tap does not depend on are dropped, operations whose inputs
// are all constants are evaluated (folded), MobileNetV3's spelled-out hard-swish becomes one
// in-place step, and every intermediate tensor is given a slot in a few reused buffers.

type opKind int

const (
	opConv opKind = iota
	opDepthwise
	opBinary
	opUnary
	opMean
	opAvgPool
	opHardSwish // out = (x·k)·relu6(x+shift), in place
)

type binOp int

const (
	binAdd binOp = iota
	binSub
	binMul
)

// bcast says how the operands of a binary step line up with its output.
type bcast int

const (
	bcSame    bcast = iota // both operands have the output's size
	bcScalar               // operand b is one value
	bcChannel              // operand b is one value per channel (the last dimension)
	bcGeneral              // anything else that broadcasts: index arithmetic per element
)

// step is one operation of the compiled graph. Dynamic tensors are named by buffer ids (buf*),
// which the planner maps to arena slots.
type step struct {
	kind opKind
	node string // the GraphDef node it came from, for errors and profiles
	out  int    // output buffer

	// opConv, opDepthwise, opAvgPool: x is buffer in0.
	in0, in1                                    int
	w, bias                                     []float32
	pw                                          *kernels.PackedWeights // opConv: w packed once (nil: pack per call)
	H, W, C, OC, KH, KW, stride, pt, pl, OH, OW int
	act                                         kernels.FusedAct
	k, shift                                    float32 // opHardSwish constants

	// opBinary: operands a and b, each a buffer (in0/in1 >= 0) or a constant (ka/kb).
	op             binOp
	swap           bool // the dynamic full-size operand came second in the graph (matters for Sub)
	bc             bcast
	ka, kb         []float32
	aShape, bShape []int
	outShape       []int
}

// value is what the planner knows about one node's output.
type value struct {
	shape []int
	c     *constTensor // non-nil for a constant
	buf   int          // buffer id of a dynamic tensor
}

// graph is a compiled model: steps plus the buffer plan.
type graph struct {
	steps    []step
	bufSize  []int   // elements of each buffer id
	bufShape [][]int // shape of each buffer id, as the graph declares it
	bufSlot  []int   // arena slot of each buffer id
	slotSize []int   // elements of each arena slot
	colSize  int     // im2col scratch elements
	inBuf    int
	outBuf   int
	inShape  []int
	outShape []int
	inName   string
	nodes    int // GraphDef nodes on the path, constants included
}

var supportedOps = []string{"Add", "AddV2", "AvgPool", "BiasAdd", "Const", "Conv2D", "DepthwiseConv2dNative",
	"FusedDepthwiseConv2dNative", "Identity", "Mean", "Mul", "Placeholder", "Relu", "Relu6", "Squeeze", "Sub", "_FusedConv2D"}

// parseInput splits a GraphDef input reference "name", "name:0" or "^name" (a control edge).
func parseInput(s string) (name string, control bool, err error) {
	if strings.HasPrefix(s, "^") {
		return s[1:], true, nil
	}
	if i := strings.LastIndexByte(s, ':'); i >= 0 {
		if s[i+1:] != "0" {
			return "", false, fmt.Errorf("input %q: only the first output of a node is supported", s)
		}
		s = s[:i]
	}
	return s, false, nil
}

// compile builds the graph from the placeholder to tap, with the input fixed at (1,size,size,C).
func compile(nodes []NodeDef, weights map[string]*constTensor, tap string, size int) (*graph, error) {
	byName := make(map[string]*NodeDef, len(nodes))
	for i := range nodes {
		n := &nodes[i]
		if n.Name == "" {
			return nil, fmt.Errorf("node %d has no name", i)
		}
		if _, dup := byName[n.Name]; dup {
			return nil, fmt.Errorf("node %q appears twice", n.Name)
		}
		byName[n.Name] = n
	}
	if _, ok := byName[tap]; !ok {
		return nil, fmt.Errorf("tap node %q is not in the graph", tap)
	}

	// Depth-first post-order from the tap, without recursion (a hostile file can be deep), with
	// cycle detection.
	const (
		unseen = iota
		open
		done
	)
	state := map[string]int{}
	var order []*NodeDef
	type frame struct {
		n    *NodeDef
		next int
	}
	stack := []frame{{byName[tap], 0}}
	state[tap] = open
	for len(stack) > 0 {
		f := &stack[len(stack)-1]
		if f.next == len(f.n.Input) {
			state[f.n.Name] = done
			order = append(order, f.n)
			stack = stack[:len(stack)-1]
			continue
		}
		in := f.n.Input[f.next]
		f.next++
		name, control, err := parseInput(in)
		if err != nil {
			return nil, fmt.Errorf("node %q: %v", f.n.Name, err)
		}
		if control {
			continue
		}
		m, ok := byName[name]
		if !ok {
			return nil, fmt.Errorf("node %q: input %q is not in the graph", f.n.Name, name)
		}
		switch state[name] {
		case open:
			return nil, fmt.Errorf("node %q: the graph has a cycle through %q", f.n.Name, name)
		case unseen:
			state[name] = open
			stack = append(stack, frame{m, 0})
		}
	}

	g := &graph{nodes: len(order), inBuf: -1}
	vals := map[string]*value{}
	newBuf := func(shape []int) (*value, error) {
		n, err := numElems(shape)
		if err != nil {
			return nil, err
		}
		g.bufSize = append(g.bufSize, n)
		g.bufShape = append(g.bufShape, shape)
		return &value{shape: shape, buf: len(g.bufSize) - 1}, nil
	}
	for _, n := range order {
		var ins []*value
		for _, in := range n.Input {
			name, control, _ := parseInput(in)
			if !control {
				ins = append(ins, vals[name])
			}
		}
		v, err := g.add(n, ins, weights, size, newBuf)
		if err != nil {
			return nil, fmt.Errorf("node %q (%s): %v", n.Name, n.Op, err)
		}
		vals[n.Name] = v
	}
	out := vals[tap]
	if g.inBuf < 0 {
		return nil, fmt.Errorf("tap node %q does not depend on any Placeholder input", tap)
	}
	if out.c != nil {
		return nil, fmt.Errorf("tap node %q is a constant", tap)
	}
	g.outBuf, g.outShape = out.buf, out.shape
	g.fuseHardSwish()
	g.plan()
	return g, nil
}

func (g *graph) add(n *NodeDef, ins []*value, weights map[string]*constTensor, size int, newBuf func([]int) (*value, error)) (*value, error) {
	need := func(k int) error {
		if len(ins) != k {
			return fmt.Errorf("has %d inputs, want %d", len(ins), k)
		}
		return nil
	}
	switch n.Op {
	case "Const":
		c, ok := weights[n.Name]
		if !ok {
			return nil, fmt.Errorf("constant has no values in the weights manifest")
		}
		return &value{shape: c.shape, c: c, buf: -1}, nil

	case "Placeholder":
		if g.inBuf >= 0 {
			return nil, fmt.Errorf("a second Placeholder on the path to the tap (the first is %q); only one image input is supported", g.inName)
		}
		ch := 3
		if d := placeholderDims(n); len(d) == 4 && d[3] > 0 {
			ch = d[3]
		} else if len(d) != 0 && len(d) != 4 {
			return nil, fmt.Errorf("input shape %v is not an image batch (N,H,W,C)", d)
		}
		if ch > 4096 {
			return nil, fmt.Errorf("input has %d channels", ch)
		}
		v, err := newBuf([]int{1, size, size, ch})
		if err != nil {
			return nil, err
		}
		g.inBuf, g.inShape, g.inName = v.buf, v.shape, n.Name
		return v, nil

	case "Identity":
		if err := need(1); err != nil {
			return nil, err
		}
		return ins[0], nil

	case "Squeeze":
		if err := need(1); err != nil {
			return nil, err
		}
		x := ins[0]
		dims := map[int]bool{}
		if a, ok := n.Attr["squeeze_dims"]; ok && a.List != nil {
			for _, d := range a.List.I {
				k := int(d)
				if k < 0 {
					k += len(x.shape)
				}
				if k < 0 || k >= len(x.shape) {
					return nil, fmt.Errorf("squeeze dimension %d out of range for shape %v", d, x.shape)
				}
				if x.shape[k] != 1 {
					return nil, fmt.Errorf("cannot squeeze dimension %d of shape %v", d, x.shape)
				}
				dims[k] = true
			}
		}
		var shape []int
		for k, d := range x.shape {
			if dims[k] || (len(dims) == 0 && d == 1) {
				continue
			}
			shape = append(shape, d)
		}
		// A squeeze only renames dimensions: the data and its buffer stay as they are.
		return &value{shape: shape, c: x.c, buf: x.buf}, nil

	case "Relu", "Relu6":
		if err := need(1); err != nil {
			return nil, err
		}
		act := kernels.FusedRelu
		if n.Op == "Relu6" {
			act = kernels.FusedRelu6
		}
		x := ins[0]
		if x.c != nil {
			if x.c.f == nil {
				return nil, fmt.Errorf("input is not float32")
			}
			f := slices.Clone(x.c.f)
			applyAct(f, act)
			return &value{shape: x.shape, c: &constTensor{shape: x.shape, f: f}, buf: -1}, nil
		}
		v, err := newBuf(x.shape)
		if err != nil {
			return nil, err
		}
		g.steps = append(g.steps, step{kind: opUnary, node: n.Name, out: v.buf, in0: x.buf, in1: -1, act: act})
		return v, nil

	case "Add", "AddV2", "BiasAdd", "Sub", "Mul":
		if err := need(2); err != nil {
			return nil, err
		}
		op := map[string]binOp{"Add": binAdd, "AddV2": binAdd, "BiasAdd": binAdd, "Sub": binSub, "Mul": binMul}[n.Op]
		return g.addBinary(n, op, ins[0], ins[1], newBuf)

	case "_FusedConv2D", "Conv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative":
		return g.addConv(n, ins, newBuf)

	case "Mean":
		if err := need(2); err != nil {
			return nil, err
		}
		x, ax := ins[0], ins[1]
		if x.c != nil {
			return nil, fmt.Errorf("mean of a constant is not supported")
		}
		if ax.c == nil || ax.c.i == nil {
			return nil, fmt.Errorf("reduction axes must be an int32 constant")
		}
		if len(x.shape) != 4 {
			return nil, fmt.Errorf("mean of a rank-%d tensor; only (N,H,W,C) is supported", len(x.shape))
		}
		axes := map[int]bool{}
		for _, a := range ax.c.i {
			k := int(a)
			if k < 0 {
				k += 4
			}
			axes[k] = true
		}
		if len(axes) != 2 || !axes[1] || !axes[2] {
			return nil, fmt.Errorf("mean over axes %v; only the spatial axes [1 2] are supported", ax.c.i)
		}
		shape := []int{x.shape[0], 1, 1, x.shape[3]}
		if a, ok := n.Attr["keep_dims"]; !ok || !a.B {
			shape = []int{x.shape[0], x.shape[3]}
		}
		v, err := newBuf(shape)
		if err != nil {
			return nil, err
		}
		g.steps = append(g.steps, step{kind: opMean, node: n.Name, out: v.buf, in0: x.buf, in1: -1,
			H: x.shape[1], W: x.shape[2], C: x.shape[3]})
		return v, nil

	case "AvgPool":
		if err := need(1); err != nil {
			return nil, err
		}
		x := ins[0]
		if x.c != nil || len(x.shape) != 4 {
			return nil, fmt.Errorf("input must be a computed (N,H,W,C) tensor")
		}
		if err := checkNHWC(n); err != nil {
			return nil, err
		}
		k, err := spatialPair(n, "ksize")
		if err != nil {
			return nil, err
		}
		s, err := spatialPair(n, "strides")
		if err != nil {
			return nil, err
		}
		if k[0] > 64 || k[1] > 64 || s[0] != s[1] {
			return nil, fmt.Errorf("window %v stride %v not supported", k, s)
		}
		st := step{kind: opAvgPool, node: n.Name, in0: x.buf, in1: -1, H: x.shape[1], W: x.shape[2], C: x.shape[3], KH: k[0], KW: k[1], stride: s[0]}
		if err := padding(n, &st); err != nil {
			return nil, err
		}
		v, err := newBuf([]int{1, st.OH, st.OW, st.C})
		if err != nil {
			return nil, err
		}
		st.out = v.buf
		g.steps = append(g.steps, st)
		return v, nil
	}
	return nil, fmt.Errorf("unsupported op %q (supported: %s)", n.Op, strings.Join(supportedOps, ", "))
}

// placeholderDims returns the declared input shape (-1 for an unknown size), or nil if none.
func placeholderDims(n *NodeDef) []int {
	a, ok := n.Attr["shape"]
	if !ok || a.Shape == nil {
		return nil
	}
	d := make([]int, len(a.Shape.Dim))
	for i, x := range a.Shape.Dim {
		d[i] = int(x.Size)
	}
	return d
}

func checkNHWC(n *NodeDef) error {
	if a, ok := n.Attr["data_format"]; ok && len(a.S) > 0 && string(a.S) != "NHWC" {
		return fmt.Errorf("data_format %q not supported (only NHWC)", a.S)
	}
	return nil
}

// spatialPair reads a [1,h,w,1] list attribute (strides, ksize, dilations) as (h, w).
func spatialPair(n *NodeDef, key string) ([2]int, error) {
	a, ok := n.Attr[key]
	if !ok || a.List == nil || len(a.List.I) != 4 {
		return [2]int{}, fmt.Errorf("attribute %s must be a list of 4 integers", key)
	}
	l := a.List.I
	if l[0] != 1 || l[3] != 1 || l[1] <= 0 || l[2] <= 0 || l[1] > 1024 || l[2] > 1024 {
		return [2]int{}, fmt.Errorf("attribute %s = %v not supported", key, l)
	}
	return [2]int{int(l[1]), int(l[2])}, nil
}

// padding fills the output size and leading padding of a windowed step from the padding attribute.
func padding(n *NodeDef, st *step) error {
	p := string(n.Attr["padding"].S)
	switch p {
	case "SAME":
		st.OH, st.pt = kernels.SamePadding(st.H, st.KH, st.stride)
		st.OW, st.pl = kernels.SamePadding(st.W, st.KW, st.stride)
	case "VALID":
		if st.H < st.KH || st.W < st.KW {
			return fmt.Errorf("VALID window %dx%d larger than the %dx%d input (is the input size right?)", st.KH, st.KW, st.H, st.W)
		}
		st.OH, st.OW = (st.H-st.KH)/st.stride+1, (st.W-st.KW)/st.stride+1
	default:
		return fmt.Errorf("padding %q not supported (SAME or VALID)", p)
	}
	return nil
}

func (g *graph) addConv(n *NodeDef, ins []*value, newBuf func([]int) (*value, error)) (*value, error) {
	depthwise := strings.Contains(n.Op, "Depthwise")
	fused := strings.HasPrefix(n.Op, "_") || strings.HasPrefix(n.Op, "Fused")
	var ops []string
	if fused {
		if a, ok := n.Attr["fused_ops"]; ok && a.List != nil {
			for _, s := range a.List.S {
				ops = append(ops, string(s))
			}
		}
	}
	act := kernels.FusedNone
	hasBias := false
	switch strings.Join(ops, ",") {
	case "":
	case "BiasAdd":
		hasBias = true
	case "BiasAdd,Relu":
		hasBias, act = true, kernels.FusedRelu
	case "BiasAdd,Relu6":
		hasBias, act = true, kernels.FusedRelu6
	default:
		return nil, fmt.Errorf("fused ops %v not supported (BiasAdd, BiasAdd+Relu, BiasAdd+Relu6)", ops)
	}
	want := 2
	if hasBias {
		want = 3
	}
	if len(ins) != want {
		return nil, fmt.Errorf("has %d inputs, want %d for fused ops %v", len(ins), want, ops)
	}
	x, f := ins[0], ins[1]
	if x.c != nil || len(x.shape) != 4 || x.shape[0] != 1 {
		return nil, fmt.Errorf("input must be a computed (1,H,W,C) tensor, got shape %v", x.shape)
	}
	if f.c == nil || f.c.f == nil || len(f.shape) != 4 {
		return nil, fmt.Errorf("filter must be a float32 constant (KH,KW,C,OC)")
	}
	if err := checkNHWC(n); err != nil {
		return nil, err
	}
	s, err := spatialPair(n, "strides")
	if err != nil {
		return nil, err
	}
	if s[0] != s[1] {
		return nil, fmt.Errorf("unequal strides %v not supported", s)
	}
	if a, ok := n.Attr["dilations"]; ok && a.List != nil {
		for _, d := range a.List.I {
			if d != 1 {
				return nil, fmt.Errorf("dilations %v not supported", a.List.I)
			}
		}
	}
	KH, KW, C, M := f.shape[0], f.shape[1], f.shape[2], f.shape[3]
	if C != x.shape[3] {
		return nil, fmt.Errorf("filter has %d input channels, input has %d", C, x.shape[3])
	}
	if KH <= 0 || KW <= 0 || M <= 0 {
		return nil, fmt.Errorf("empty filter %v", f.shape)
	}
	st := step{node: n.Name, in0: x.buf, in1: -1, H: x.shape[1], W: x.shape[2], C: C, KH: KH, KW: KW, stride: s[0], act: act}
	if err := padding(n, &st); err != nil {
		return nil, err
	}
	OC := M
	if depthwise {
		if M != 1 {
			return nil, fmt.Errorf("depthwise channel multiplier %d not supported (only 1)", M)
		}
		OC = C
		st.kind = opDepthwise
		st.w = f.c.f // (KH,KW,C,1) is already (KH,KW,C)
	} else {
		st.kind = opConv
		// TF's HWIO filter (KH,KW,C,OC) becomes output-major (OC,KH,KW,C): each output channel's
		// weights one contiguous row, in the order im2col lays out a receptive field.
		K := KH * KW * C
		st.w = make([]float32, OC*K)
		for k := 0; k < K; k++ {
			for o := 0; o < OC; o++ {
				st.w[o*K+k] = f.c.f[k*OC+o]
			}
		}
		st.pw = kernels.PackWeights(st.w, OC, K)
		if !(KH == 1 && KW == 1 && st.stride == 1) {
			g.colSize = max(g.colSize, st.OH*st.OW*K)
		}
	}
	st.OC = OC
	if hasBias {
		b := ins[2]
		if b.c == nil || b.c.f == nil || len(b.c.f) != OC {
			return nil, fmt.Errorf("bias must be a float32 constant of %d values", OC)
		}
		st.bias = b.c.f
	}
	v, err := newBuf([]int{1, st.OH, st.OW, OC})
	if err != nil {
		return nil, err
	}
	st.out = v.buf
	g.steps = append(g.steps, st)
	return v, nil
}

// conv runs an opConv step on x into out: with the weights packed at load time, or, for a
// section's trainable copy (pw nil), packed per call; the same bits either way.
func (st *step) conv(out, x, col []float32) {
	if st.pw != nil {
		kernels.Conv2DPacked(out, x, st.pw, st.bias, col, st.H, st.W, st.C, st.KH, st.KW, st.stride, st.pt, st.pl, st.OH, st.OW, st.act)
		return
	}
	kernels.Conv2D(out, x, st.w, st.bias, col, st.H, st.W, st.C, st.OC, st.KH, st.KW, st.stride, st.pt, st.pl, st.OH, st.OW, st.act)
}

// maxFold bounds a constant computed at load time (a broadcast of two small constants can be huge).
const maxFold = 1 << 22

// broadcastShape is NumPy's rule: align on the right; each pair of dimensions is equal or one is 1.
func broadcastShape(a, b []int) ([]int, error) {
	if len(a) > 4 || len(b) > 4 {
		return nil, fmt.Errorf("rank above 4 not supported")
	}
	r := max(len(a), len(b))
	out := make([]int, r)
	for i := 1; i <= r; i++ {
		da, db := 1, 1
		if i <= len(a) {
			da = a[len(a)-i]
		}
		if i <= len(b) {
			db = b[len(b)-i]
		}
		switch {
		case da == db || db == 1:
			out[r-i] = da
		case da == 1:
			out[r-i] = db
		default:
			return nil, fmt.Errorf("shapes %v and %v do not broadcast", a, b)
		}
	}
	return out, nil
}

func (g *graph) addBinary(n *NodeDef, op binOp, a, b *value, newBuf func([]int) (*value, error)) (*value, error) {
	shape, err := broadcastShape(a.shape, b.shape)
	if err != nil {
		return nil, err
	}
	if _, err := numElems(shape); err != nil {
		return nil, err
	}
	for _, v := range []*value{a, b} {
		if v.c != nil && v.c.f == nil {
			return nil, fmt.Errorf("operand is not float32")
		}
	}
	if a.c != nil && b.c != nil {
		if mustElems(shape) > maxFold {
			return nil, fmt.Errorf("folding constants of shapes %v and %v gives %v, too large", a.shape, b.shape, shape)
		}
		out := make([]float32, mustElems(shape))
		binaryGeneral(out, a.c.f, b.c.f, a.shape, b.shape, shape, op)
		return &value{shape: shape, c: &constTensor{shape: shape, f: out}, buf: -1}, nil
	}
	v, err := newBuf(shape)
	if err != nil {
		return nil, err
	}
	st := step{kind: opBinary, node: n.Name, op: op, out: v.buf, in0: a.buf, in1: b.buf, aShape: a.shape, bShape: b.shape, outShape: shape, bc: bcGeneral}
	if a.c != nil {
		st.ka = a.c.f
	}
	if b.c != nil {
		st.kb = b.c.f
	}
	// Put the full-size dynamic operand first so the fast paths have one shape to look at.
	size := mustElems(shape)
	if mustElems(a.shape) != size && mustElems(b.shape) == size {
		st.in0, st.in1, st.ka, st.kb, st.aShape, st.bShape = st.in1, st.in0, st.kb, st.ka, st.bShape, st.aShape
		st.swap = true
	}
	nb := mustElems(st.bShape)
	switch {
	case mustElems(st.aShape) != size:
	case nb == size:
		st.bc = bcSame
	case nb == 1:
		st.bc = bcScalar
	case nb == shape[len(shape)-1] && len(st.bShape) > 0 && st.bShape[len(st.bShape)-1] == nb:
		st.bc = bcChannel
	}
	g.steps = append(g.steps, st)
	return v, nil
}

func mustElems(shape []int) int {
	n, err := numElems(shape)
	if err != nil {
		panic("backbone: shape checked before use")
	}
	return n
}

// fuseHardSwish rewrites x → {Mul(k, x), Add(x, shift) → Relu6} → Mul, the way TF spells
// MobileNetV3's hard-swish, into one in-place step over x: three passes over the feature map saved.
// k and shift are the graph's own constants (k is float16-rounded 1/6 in TF.js files), so results
// stay bit-identical.
func (g *graph) fuseHardSwish() {
	uses := make([]int, len(g.bufSize))
	for _, s := range g.steps {
		for _, b := range []int{s.in0, s.in1} {
			if b >= 0 {
				uses[b]++
			}
		}
	}
	uses[g.outBuf]++
	producer := map[int]int{}
	for i, s := range g.steps {
		producer[s.out] = i
	}
	scalar := func(s *step) (float32, bool) {
		if s.kind == opBinary && s.bc == bcScalar && len(s.kb) == 1 && s.in1 < 0 && s.in0 >= 0 {
			return s.kb[0], true
		}
		return 0, false
	}
	dead := map[int]bool{}
	repl := map[int]step{}
	for i := range g.steps {
		y := &g.steps[i]
		if y.kind != opBinary || y.op != binMul || y.bc != bcSame || y.in0 < 0 || y.in1 < 0 {
			continue
		}
		pm, ok1 := producer[y.in0]
		pr, ok2 := producer[y.in1]
		if !ok1 || !ok2 {
			continue
		}
		m, r := &g.steps[pm], &g.steps[pr]
		if m.kind == opUnary {
			m, r = r, m
			pm, pr = pr, pm
		}
		k, ok := scalar(m)
		if !ok || m.op != binMul || r.kind != opUnary || r.act != kernels.FusedRelu6 {
			continue
		}
		pa, ok := producer[r.in0]
		if !ok {
			continue
		}
		a := &g.steps[pa]
		shift, ok := scalar(a)
		if !ok || a.op != binAdd || a.in0 != m.in0 {
			continue
		}
		if uses[m.in0] != 2 || uses[m.out] != 1 || uses[a.out] != 1 || uses[r.out] != 1 {
			continue
		}
		dead[pm], dead[pa], dead[pr] = true, true, true
		repl[i] = step{kind: opHardSwish, node: y.node, out: y.out, in0: m.in0, in1: -1, k: k, shift: shift}
	}
	if len(dead) == 0 {
		return
	}
	steps := g.steps[:0]
	for i, s := range g.steps {
		if dead[i] {
			continue
		}
		if r, ok := repl[i]; ok {
			s = r
		}
		steps = append(steps, s)
	}
	g.steps = steps
}

// plan maps buffers to arena slots: a buffer's slot is free again after its last reader, and an
// element-wise step may write over an operand of its own size that dies with it.
func (g *graph) plan() {
	last := make([]int, len(g.bufSize))
	for i := range last {
		last[i] = -1
	}
	for i, s := range g.steps {
		for _, b := range []int{s.in0, s.in1} {
			if b >= 0 {
				last[b] = i
			}
		}
	}
	last[g.outBuf] = len(g.steps)
	g.bufSlot = make([]int, len(g.bufSize))
	for i := range g.bufSlot {
		g.bufSlot[i] = -1
	}
	var free []int
	// take gives buffer b the smallest free slot that holds it, else grows the largest free slot,
	// else opens a new one.
	take := func(b int) {
		need := g.bufSize[b]
		best := -1
		for k, s := range free {
			switch {
			case best < 0:
				best = k
			case g.slotSize[s] >= need && (g.slotSize[free[best]] < need || g.slotSize[s] < g.slotSize[free[best]]):
				best = k
			case g.slotSize[free[best]] < need && g.slotSize[s] > g.slotSize[free[best]]:
				best = k
			}
		}
		if best < 0 {
			g.slotSize = append(g.slotSize, need)
			g.bufSlot[b] = len(g.slotSize) - 1
			return
		}
		s := free[best]
		free = append(free[:best], free[best+1:]...)
		g.slotSize[s] = max(g.slotSize[s], need)
		g.bufSlot[b] = s
	}
	released := make([]bool, len(g.bufSize))
	release := func(b, i int) {
		if b >= 0 && last[b] == i && !released[b] {
			released[b] = true
			free = append(free, g.bufSlot[b])
		}
	}
	take(g.inBuf)
	for i, s := range g.steps {
		// An element-wise step may overwrite an operand of its own size that dies with it, when
		// element i of the output reads element i of that operand (not so for a general broadcast).
		elementwise := s.kind == opUnary || s.kind == opHardSwish || (s.kind == opBinary && s.bc != bcGeneral)
		if elementwise && s.in0 >= 0 && g.bufSize[s.in0] == g.bufSize[s.out] {
			release(s.in0, i)
		}
		if g.bufSlot[s.out] < 0 {
			take(s.out)
		}
		release(s.in0, i)
		release(s.in1, i)
	}
}

// applyAct applies one of the activations the graph uses to a constant being folded.
func applyAct(x []float32, act kernels.FusedAct) {
	switch act {
	case kernels.FusedRelu:
		kernels.Relu(x, x)
	case kernels.FusedRelu6:
		kernels.Relu6(x, x)
	}
}

// binaryGeneral computes out = a op b with NumPy broadcasting over shapes of rank up to 4.
func binaryGeneral(out, a, b []float32, as, bs, os []int, op binOp) {
	pad := func(s []int) [4]int {
		var p [4]int
		for i := range p {
			p[i] = 1
		}
		copy(p[4-len(s):], s)
		return p
	}
	A, B, O := pad(as), pad(bs), pad(os)
	strides := func(s [4]int) [4]int {
		var st [4]int
		n := 1
		for i := 3; i >= 0; i-- {
			if s[i] != 1 {
				st[i] = n
			}
			n *= s[i]
		}
		return st
	}
	sa, sb := strides(A), strides(B)
	i := 0
	for d0 := 0; d0 < O[0]; d0++ {
		for d1 := 0; d1 < O[1]; d1++ {
			for d2 := 0; d2 < O[2]; d2++ {
				for d3 := 0; d3 < O[3]; d3++ {
					x := a[d0*sa[0]+d1*sa[1]+d2*sa[2]+d3*sa[3]]
					y := b[d0*sb[0]+d1*sb[1]+d2*sb[2]+d3*sb[3]]
					out[i] = binApply(op, x, y)
					i++
				}
			}
		}
	}
}

func binApply(op binOp, x, y float32) float32 {
	switch op {
	case binAdd:
		return x + y
	case binSub:
		return x - y
	}
	return x * y
}
