package modelexport

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"

	"finetuner/backbone"
	"finetuner/head"
)

// onnxGraph collects ONNX nodes and initializers.
type onnxGraph struct {
	nodes, inits []pb
	rank         map[string]int // rank of each tensor made so far
	w            map[string]backbone.Tensor
	done         map[string]bool // initializers already written
	n            int
}

func (g *onnxGraph) node(op string, inputs []string, output string, attrs ...pb) string {
	g.n++
	n := pb{}
	for _, in := range inputs {
		n = n.str(nodeInput, in)
	}
	n = n.str(nodeOutput, output).str(nodeName, fmt.Sprintf("%s_%d", op, g.n)).str(nodeOp, op)
	for _, a := range attrs {
		n = n.msg(nodeAttr, a)
	}
	g.nodes = append(g.nodes, n)
	return output
}

func attrInt(name string, v int64) pb {
	return pb{}.str(attrName, name).int(attrType, attrINT).int(attrI, v)
}
func attrFloat(name string, v float32) pb {
	return pb{}.str(attrName, name).int(attrType, attrFLOAT).float(attrF, v)
}
func attrStr(name, v string) pb {
	return pb{}.str(attrName, name).int(attrType, attrSTRING).str(attrS, v)
}
func attrInts(name string, v []int64) pb {
	return pb{}.str(attrName, name).int(attrType, attrINTS).ints(attrIntsF, v)
}

// floats adds a float32 initializer of the given shape.
func (g *onnxGraph) floats(name string, shape []int, v []float32) string {
	if g.done[name] {
		return name
	}
	g.done[name] = true
	raw := make([]byte, 0, 4*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(x))
	}
	g.inits = append(g.inits, pb{}.ints(tensorDims, i64s(shape)).int(tensorType, typeFloat).str(tensorName, name).bytes(tensorRaw, raw))
	g.rank[name] = len(shape)
	return name
}

// int64s adds an int64 initializer (a shape or axes list).
func (g *onnxGraph) int64s(name string, v []int64) string {
	if g.done[name] {
		return name
	}
	g.done[name] = true
	raw := make([]byte, 0, 8*len(v))
	for _, x := range v {
		raw = binary.LittleEndian.AppendUint64(raw, uint64(x))
	}
	g.inits = append(g.inits, pb{}.ints(tensorDims, []int64{int64(len(v))}).int(tensorType, typeInt64).str(tensorName, name).bytes(tensorRaw, raw))
	return name
}

func i64s(v []int) []int64 {
	out := make([]int64, len(v))
	for i, x := range v {
		out[i] = int64(x)
	}
	return out
}

// nchwAxis maps an axis of an NHWC tensor onto the NCHW tensor the ONNX graph holds.
func nchwAxis(a int64, rank int) int64 {
	if a < 0 {
		a += int64(rank)
	}
	if rank != 4 {
		return a
	}
	return [4]int64{0, 2, 3, 1}[a]
}

// ONNX returns an ONNX model (IR 8, opset 13) of the backbone in files (as TFJS takes them) and
// head h: input "image" float32 (N,S,S,3) RGB 0..255, output "probabilities" (N,C). Inside, the
// image is transposed to NCHW once and every convolution runs in ONNX's layout.
func ONNX(files map[string][]byte, h *head.Model) ([]byte, error) {
	s, err := readSource(files)
	if err != nil {
		return nil, err
	}
	if err := check(s.info, h); err != nil {
		return nil, err
	}
	s.info = headTap(s.info, h)
	var nodes []backbone.NodeDef
	if err := json.Unmarshal(s.topo["node"], &nodes); err != nil {
		return nil, fmt.Errorf("export: the backbone's graph: %v", err)
	}
	byName := map[string]*backbone.NodeDef{}
	for i := range nodes {
		byName[nodes[i].Name] = &nodes[i]
	}
	w, err := backbone.DecodeWeights(files["model.json"], func(p string) ([]byte, error) {
		b, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("weight file %q is missing", p)
		}
		return b, nil
	})
	if err != nil {
		return nil, fmt.Errorf("export: %v", err)
	}
	ft, err := finetuned(h, func(node string) ([]string, bool) {
		n, ok := byName[node]
		if !ok {
			return nil, false
		}
		return n.Input, true
	})
	if err != nil {
		return nil, err
	}
	for c, o := range ft {
		w[c] = backbone.Tensor{Shape: o.Shape, F: o.F}
	}
	// The nodes from the input to the tap, inputs before the nodes that read them.
	var order []*backbone.NodeDef
	state := map[string]int{} // 1: being visited, 2: done
	var visit func(name string) error
	visit = func(name string) error {
		n, ok := byName[name]
		if !ok {
			return fmt.Errorf("export: node %q is not in the backbone's graph", name)
		}
		switch state[name] {
		case 1:
			return fmt.Errorf("export: the backbone's graph has a cycle through %q", name)
		case 2:
			return nil
		}
		state[name] = 1
		for i, in := range n.Input {
			if strings.HasPrefix(in, "^") {
				continue
			}
			if j := strings.LastIndexByte(in, ':'); j >= 0 {
				if in[j+1:] != "0" {
					return fmt.Errorf("export: node %q reads output %q; only first outputs are supported", name, in)
				}
				in = in[:j]
				n.Input[i] = in
			}
			if err := visit(in); err != nil {
				return err
			}
		}
		state[name] = 2
		order = append(order, n)
		return nil
	}
	if err := visit(s.info.Tap); err != nil {
		return nil, err
	}

	g := &onnxGraph{rank: map[string]int{}, w: w, done: map[string]bool{}}
	S := s.info.InputSize
	for _, n := range order {
		if err := g.convert(n, s.info); err != nil {
			return nil, fmt.Errorf("export: node %q (%s): %v", n.Name, n.Op, err)
		}
	}
	x := s.info.Tap
	switch {
	case s.info.Pool == "mean" && g.rank[x] == 4:
		x = g.node("ReduceMean", []string{x}, "finetuner/pool", attrInts("axes", []int64{2, 3}), attrInt("keepdims", 0))
	case g.rank[x] != 2:
		return nil, fmt.Errorf("export: the tap %q has rank %d; want a feature map to average (pool mean) or a vector", x, g.rank[x])
	}
	if h.Mean != nil {
		x = g.node("Sub", []string{x, g.floats("finetuner/standardize/mean", []int{h.D}, h.Mean)}, "finetuner/standardize/sub")
		x = g.node("Div", []string{x, g.floats("finetuner/standardize/std", []int{h.D}, h.Std)}, "finetuner/standardize/div")
	}
	layers := h.Layers()
	for i, l := range layers {
		p := fmt.Sprintf("finetuner/head/layer%d/", i)
		in := []string{x, g.floats(p+"weight", []int{l.Out, l.In}, l.W)}
		if l.B != nil {
			in = append(in, g.floats(p+"bias", []int{l.Out}, l.B))
		}
		// Gemm with transB: x·Wᵀ + b, W (out,in) as the head stores it.
		x = g.node("Gemm", in, p+"out", attrInt("transB", 1))
		if i+1 == len(layers) {
			break
		}
		if h.Arch.Activation == "gelu" {
			x = g.gelu(p+"gelu/", x)
		} else {
			x = g.node("Relu", []string{x}, p+"relu")
		}
	}
	g.node("Softmax", []string{x}, OutputName, attrInt("axis", -1))

	graph := pb{}
	for _, n := range g.nodes {
		graph = graph.msg(graphNode, n)
	}
	graph = graph.str(graphName, "finetuner_"+s.info.ID)
	for _, t := range g.inits {
		graph = graph.msg(graphInit, t)
	}
	graph = graph.msg(graphInput, valueInfo(InputName, "N", S, S, 3))
	graph = graph.msg(graphOutput, valueInfo(OutputName, "N", h.C))
	meta, err := json.Marshal(metadata(s.info, h))
	if err != nil {
		return nil, err
	}
	labels, _ := json.Marshal(h.Labels)
	model := pb{}.int(modelIRVersion, onnxIR).str(modelProducer, onnxProducer).str(modelProdVer, "1").
		str(modelDoc, fmt.Sprintf("%s backbone + %s head: image (N,%d,%d,3) RGB 0..255 in, class probabilities out", s.info.ID, h.Arch.Kind(), S, S)).
		msg(modelGraph, graph).
		msg(modelOpset, pb{}.str(opsetDomain, "").int(opsetVersion, onnxOpset)).
		msg(modelMetadata, pb{}.str(entryKey, "labels").str(entryValue, string(labels))).
		msg(modelMetadata, pb{}.str(entryKey, "finetuner").str(entryValue, string(meta)))
	return model, nil
}

// valueInfo describes a float32 graph input or output; the first dimension is symbolic.
func valueInfo(name, batch string, dims ...int) pb {
	shape := pb{}.msg(shapeDim, pb{}.str(dimParam, batch))
	for _, d := range dims {
		shape = shape.msg(shapeDim, pb{}.int(dimValue, int64(d)))
	}
	tt := pb{}.int(ttElem, typeFloat).msg(ttShape, shape)
	return pb{}.str(valueName, name).msg(valueType, pb{}.msg(typeTensor, tt))
}

// operand returns the ONNX name of a node's input: a tensor already made, or a constant
// written as an initializer in the layout of the tensor it combines with (other's rank).
func (g *onnxGraph) operand(name string, otherRank int) (string, error) {
	if _, ok := g.rank[name]; ok && !g.done[name] {
		return name, nil
	}
	t, ok := g.w[name]
	if !ok || t.F == nil {
		return "", fmt.Errorf("input %q is neither a tensor made before nor a float constant", name)
	}
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	switch {
	case n == 1:
		return g.floats(name, []int{}, t.F), nil
	case len(t.Shape) == 1 && otherRank == 4:
		// A per-channel vector broadcasts along the last axis in NHWC, along axis 1 in NCHW.
		return g.floats(name+"/nchw", []int{t.Shape[0], 1, 1}, t.F), nil
	case len(t.Shape) == 1 || otherRank < 4:
		return g.floats(name, t.Shape, t.F), nil
	}
	return "", fmt.Errorf("constant %q of shape %v: only scalars and per-channel vectors are supported", name, t.Shape)
}

func (g *onnxGraph) convert(n *backbone.NodeDef, info backbone.Info) error {
	if df, ok := n.Attr["data_format"]; ok && len(df.S) > 0 && string(df.S) != "NHWC" {
		return fmt.Errorf("data_format %q not supported (only NHWC)", df.S)
	}
	in := func(i int) string { return n.Input[i] }
	switch n.Op {
	case "Const":
		return nil // written by the node that reads it, in the layout it needs
	case "Placeholder":
		lo, hi := info.InputRange[0], info.InputRange[1]
		x := g.node("Mul", []string{InputName, g.floats("finetuner/input_scale", []int{}, []float32{(hi - lo) / 255})}, "finetuner/input_scaled")
		if lo != 0 {
			x = g.node("Add", []string{x, g.floats("finetuner/input_offset", []int{}, []float32{lo})}, "finetuner/input_shifted")
		}
		g.node("Transpose", []string{x}, n.Name, attrInts("perm", []int64{0, 3, 1, 2}))
		g.rank[n.Name] = 4
		return nil
	case "Identity":
		g.node("Identity", []string{in(0)}, n.Name)
	case "Relu":
		g.node("Relu", []string{in(0)}, n.Name)
	case "Relu6":
		g.relu6(in(0), n.Name)
	case "Add", "AddV2", "Sub", "Mul", "BiasAdd":
		if len(n.Input) != 2 {
			return fmt.Errorf("%d inputs, want 2", len(n.Input))
		}
		ra, rb := g.rank[in(0)], g.rank[in(1)]
		a, err := g.operand(in(0), rb)
		if err != nil {
			return err
		}
		b, err := g.operand(in(1), ra)
		if err != nil {
			return err
		}
		op := map[string]string{"Add": "Add", "AddV2": "Add", "BiasAdd": "Add", "Sub": "Sub", "Mul": "Mul"}[n.Op]
		g.node(op, []string{a, b}, n.Name)
		g.rank[n.Name] = max(g.rank[a], g.rank[b])
		return nil
	case "_FusedConv2D", "Conv2D", "FusedDepthwiseConv2dNative", "DepthwiseConv2dNative":
		return g.conv(n)
	case "Mean":
		axes, ok := g.w[in(1)]
		if !ok || axes.I == nil {
			return errors.New("the reduction axes must be an integer constant")
		}
		r := g.rank[in(0)]
		var ax []int64
		for _, a := range axes.I {
			ax = append(ax, nchwAxis(int64(a), r))
		}
		keep := n.Attr["keep_dims"].B
		g.node("ReduceMean", []string{in(0)}, n.Name, attrInts("axes", ax), attrInt("keepdims", map[bool]int64{false: 0, true: 1}[keep]))
		if keep {
			g.rank[n.Name] = r
		} else {
			g.rank[n.Name] = r - len(ax)
		}
		return nil
	case "AvgPool":
		k, st := n.Ints("ksize"), n.Ints("strides")
		if len(k) != 4 || len(st) != 4 {
			return errors.New("ksize and strides must be 4 integers")
		}
		pad, err := autoPad(n)
		if err != nil {
			return err
		}
		g.node("AveragePool", []string{in(0)}, n.Name, attrInts("kernel_shape", []int64{k[1], k[2]}), attrInts("strides", []int64{st[1], st[2]}), attrStr("auto_pad", pad))
	case "Squeeze":
		r := g.rank[in(0)]
		var ax []int64
		for _, a := range n.Ints("squeeze_dims") {
			ax = append(ax, nchwAxis(a, r))
		}
		if len(ax) == 0 {
			return errors.New("a Squeeze without squeeze_dims is not supported")
		}
		g.node("Squeeze", []string{in(0), g.int64s(n.Name+"/axes", ax)}, n.Name)
		g.rank[n.Name] = r - len(ax)
		return nil
	default:
		return errors.New("op not supported by the ONNX export")
	}
	g.rank[n.Name] = g.rank[in(0)]
	return nil
}

func (g *onnxGraph) relu6(x, out string) string {
	return g.node("Clip", []string{x, g.floats("finetuner/zero", []int{}, []float32{0}), g.floats("finetuner/six", []int{}, []float32{6})}, out)
}

// autoPad maps TF's padding onto ONNX's: TF's SAME puts the odd pixel at the end, as SAME_UPPER.
func autoPad(n *backbone.NodeDef) (string, error) {
	switch p := string(n.Attr["padding"].S); p {
	case "SAME":
		return "SAME_UPPER", nil
	case "VALID":
		return "VALID", nil
	default:
		return "", fmt.Errorf("padding %q not supported (SAME or VALID)", p)
	}
}

// conv writes a (fused) convolution: the filter (KH,KW,Cin,Cout), or (KH,KW,C,M) for a
// depthwise one, becomes ONNX's (Cout,Cin/group,KH,KW); the fused bias and ReLU or ReLU6 follow.
func (g *onnxGraph) conv(n *backbone.NodeDef) error {
	depthwise := strings.Contains(n.Op, "Depthwise")
	f, ok := g.w[n.Input[1]]
	if !ok || f.F == nil || len(f.Shape) != 4 {
		return errors.New("the filter must be a float constant of rank 4")
	}
	// f[kh,kw,a,b]: a convolution's a is the input channel and b the output channel; a
	// depthwise one's output channel a·B + b reads input channel a alone (group = A).
	KH, KW, A, B := f.Shape[0], f.Shape[1], f.Shape[2], f.Shape[3]
	shape, group := []int{B, A, KH, KW}, 1
	if depthwise {
		shape, group = []int{A * B, 1, KH, KW}, A
	}
	wt := make([]float32, len(f.F))
	for kh := range KH {
		for kw := range KW {
			for a := range A {
				for b := range B {
					o, i := b, a
					if depthwise {
						o, i = a*B+b, 0
					}
					wt[((o*shape[1]+i)*KH+kh)*KW+kw] = f.F[((kh*KW+kw)*A+a)*B+b]
				}
			}
		}
	}
	var fused []string
	if a, ok := n.Attr["fused_ops"]; ok && a.List != nil {
		for _, s := range a.List.S {
			fused = append(fused, string(s))
		}
	}
	ops := strings.Join(fused, ",")
	inputs := []string{n.Input[0], g.floats(n.Input[1]+"/oihw", shape, wt)}
	switch ops {
	case "":
	case "BiasAdd", "BiasAdd,Relu", "BiasAdd,Relu6":
		b, ok := g.w[n.Input[2]]
		if !ok || b.F == nil {
			return errors.New("the bias must be a float constant")
		}
		inputs = append(inputs, g.floats(n.Input[2], []int{len(b.F)}, b.F))
	default:
		return fmt.Errorf("fused ops %v not supported (BiasAdd, BiasAdd+Relu, BiasAdd+Relu6)", fused)
	}
	st, dil := n.Ints("strides"), n.Ints("dilations")
	if len(st) != 4 {
		return errors.New("strides must be 4 integers")
	}
	if len(dil) != 4 {
		dil = []int64{1, 1, 1, 1}
	}
	pad, err := autoPad(n)
	if err != nil {
		return err
	}
	out := n.Name
	if strings.Contains(ops, "Relu") {
		out = n.Name + "/conv"
	}
	g.node("Conv", inputs, out, attrInts("strides", []int64{st[1], st[2]}), attrInts("dilations", []int64{dil[1], dil[2]}),
		attrInts("kernel_shape", []int64{int64(KH), int64(KW)}), attrInt("group", int64(group)), attrStr("auto_pad", pad))
	switch {
	case strings.HasSuffix(ops, "Relu6"):
		g.relu6(out, n.Name)
	case strings.HasSuffix(ops, "Relu"):
		g.node("Relu", []string{out}, n.Name)
	}
	g.rank[n.Name] = 4
	return nil
}

// gelu adds the tanh form of GELU the head uses: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func (g *onnxGraph) gelu(p, x string) string {
	c := func(name string, v float32) string { return g.floats(p+name, []int{}, []float32{v}) }
	x3 := g.node("Mul", []string{g.node("Mul", []string{x, x}, p+"square"), x}, p+"cube")
	inner := g.node("Add", []string{x, g.node("Mul", []string{x3, c("c", 0.044715)}, p+"cube_scaled")}, p+"inner")
	t := g.node("Tanh", []string{g.node("Mul", []string{inner, c("k", 0.7978845608028654)}, p+"arg")}, p+"tanh")
	half := g.node("Mul", []string{x, c("half", 0.5)}, p+"half_x")
	return g.node("Mul", []string{half, g.node("Add", []string{t, c("one", 1)}, p+"one_plus")}, p+"out")
}
