package modelexport

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"finetuner/backbone"
	"finetuner/head"
)

// InputName is the exported model's input; OutputName its output (probabilities).
const (
	InputName  = "image"
	OutputName = "probabilities"
)

// Metadata describes an exported model: what its input is and what its outputs mean.
type Metadata struct {
	Format     string   `json:"format"` // "finetuner-export"
	Labels     []string `json:"labels"` // class names, in output order
	Backbone   string   `json:"backbone"`
	Tap        string   `json:"tap"`
	InputSize  int      `json:"inputSize"` // S: the input is (N,S,S,3)
	Input      string   `json:"input"`     // how to fill the input
	Output     string   `json:"output"`
	HeadArch   string   `json:"head"` // "linear" or "mlp"
	FeatureDim int      `json:"featureDim"`
}

// inputDoc is Metadata.Input.
const inputDoc = "float32 (N,S,S,3), RGB pixel values 0..255 of the image's centred square resized to S×S"

// source is the backbone as scripts/models.sh converts it: model.json with its "finetuner"
// block, and the weight files it names.
type source struct {
	raw   map[string]json.RawMessage // model.json's top level
	topo  map[string]json.RawMessage // its modelTopology
	nodes []map[string]any
	info  backbone.Info
}

func readSource(files map[string][]byte) (*source, error) {
	mj, ok := files["model.json"]
	if !ok {
		return nil, errors.New("export: no model.json among the backbone's files")
	}
	s := &source{}
	if err := json.Unmarshal(mj, &s.raw); err != nil {
		return nil, fmt.Errorf("export: the backbone's model.json is not JSON: %v", err)
	}
	if err := json.Unmarshal(s.raw["modelTopology"], &s.topo); err != nil || s.topo == nil {
		return nil, errors.New("export: the backbone's model.json has no modelTopology object: is it a TF.js graph model?")
	}
	if err := json.Unmarshal(s.topo["node"], &s.nodes); err != nil || len(s.nodes) == 0 {
		return nil, errors.New("export: the backbone's model.json has no graph nodes: is it a TF.js graph model?")
	}
	if err := json.Unmarshal(s.raw["finetuner"], &s.info); err != nil || s.info.Tap == "" || s.info.InputSize <= 0 {
		return nil, errors.New(`export: the backbone's model.json has no "finetuner" block with tap and inputSize: export from a backbone converted by ./build.sh models`)
	}
	return s, nil
}

// check says whether the head belongs to this backbone.
func check(info backbone.Info, h *head.Model) error {
	if h.Meta.BackboneID != "" && h.Meta.BackboneID != info.ID {
		return fmt.Errorf("export: the head was trained on %q features, not on backbone %q: export it with %s", h.Meta.BackboneID, info.ID, h.Meta.BackboneID)
	}
	if h.Meta.Tap != "" && h.Meta.Tap != info.Tap {
		return fmt.Errorf("export: the head was trained on the tap %q, but backbone %q gives %q", h.Meta.Tap, info.ID, info.Tap)
	}
	if info.Dim != 0 && h.D != info.Dim {
		return fmt.Errorf("export: the head takes %d-d features, backbone %q gives %d", h.D, info.ID, info.Dim)
	}
	return nil
}

func metadata(info backbone.Info, h *head.Model) Metadata {
	return Metadata{
		Format: "finetuner-export", Labels: h.Labels, Backbone: info.ID, Tap: info.Tap,
		InputSize: info.InputSize, Input: inputDoc, Output: fmt.Sprintf("float32 (N,%d) class probabilities, in the order of labels", h.C),
		HeadArch: h.Arch.Kind(), FeatureDim: h.D,
	}
}

// tfGraph collects the nodes and float32/int32 weights added to a TF.js graph.
type tfGraph struct {
	taken   map[string]bool
	nodes   []map[string]any
	weights []map[string]any
	data    []byte
}

var tfFloat = map[string]any{"type": "DT_FLOAT"}

func (g *tfGraph) name(n string) string {
	if g.taken[n] {
		panic("modelexport: node name " + n + " taken twice")
	}
	g.taken[n] = true
	return n
}

func (g *tfGraph) node(name, op string, inputs []string, attr map[string]any) string {
	if attr == nil {
		attr = map[string]any{}
	}
	if _, ok := attr["T"]; !ok && op != "Placeholder" && op != "Const" {
		attr["T"] = tfFloat
	}
	g.nodes = append(g.nodes, map[string]any{"name": g.name(name), "op": op, "input": inputs, "attr": attr})
	return name
}

func tfShape(shape []int) map[string]any {
	dims := make([]map[string]string, len(shape))
	for i, d := range shape {
		dims[i] = map[string]string{"size": strconv.Itoa(d)}
	}
	if len(dims) == 0 {
		return map[string]any{}
	}
	return map[string]any{"dim": dims}
}

func (g *tfGraph) constant(name string, shape []int, f []float32, i []int32) string {
	dtype, tf := "float32", "DT_FLOAT"
	if i != nil {
		dtype, tf = "int32", "DT_INT32"
	}
	g.node(name, "Const", []string{}, map[string]any{
		"value": map[string]any{"tensor": map[string]any{"dtype": tf, "tensorShape": tfShape(shape)}},
		"dtype": map[string]any{"type": tf},
	})
	g.weights = append(g.weights, map[string]any{"name": name, "shape": shape, "dtype": dtype})
	for _, v := range f {
		g.data = binary.LittleEndian.AppendUint32(g.data, math.Float32bits(v))
	}
	for _, v := range i {
		g.data = binary.LittleEndian.AppendUint32(g.data, uint32(v))
	}
	return name
}

func (g *tfGraph) scalar(name string, v float32) string {
	return g.constant(name, []int{}, []float32{v}, nil)
}

// TFJS returns the files of a TF.js graph model of the backbone in files (model.json and its
// weight files, as backbone.LoadFiles takes them) and head h: "model.json", the backbone's
// weight files unchanged, and "head.bin" (with "head2.bin", ... when the head's data is larger
// than the backbone's first weight file). The input is named InputName, (N,S,S,3) RGB 0..255;
// the output OutputName, (N,C) probabilities.
func TFJS(files map[string][]byte, h *head.Model) (map[string][]byte, error) {
	s, err := readSource(files)
	if err != nil {
		return nil, err
	}
	if err := check(s.info, h); err != nil {
		return nil, err
	}
	s.info = headTap(s.info, h)
	g := &tfGraph{taken: map[string]bool{}}
	for _, n := range s.nodes {
		name, _ := n["name"].(string)
		g.taken[name] = true
	}
	if g.taken[InputName] || g.taken[OutputName] {
		return nil, fmt.Errorf("export: the backbone already has a node named %q or %q", InputName, OutputName)
	}
	// The backbone's placeholder keeps its name but becomes the scaling of the new input, so
	// every node that read it reads the scaled image.
	var ph map[string]any
	for _, n := range s.nodes {
		if n["op"] == "Placeholder" {
			if ph != nil {
				return nil, errors.New("export: the backbone has more than one input")
			}
			ph = n
		}
	}
	if ph == nil {
		return nil, errors.New("export: the backbone has no input (Placeholder) node")
	}
	phName := ph["name"].(string)
	S := s.info.InputSize
	g.node(InputName, "Placeholder", []string{}, map[string]any{
		"shape": map[string]any{"shape": tfShape([]int{-1, S, S, 3})},
		"dtype": tfFloat,
	})
	lo, hi := s.info.InputRange[0], s.info.InputRange[1]
	k := (hi - lo) / 255
	var scaled map[string]any
	switch {
	case lo == 0 && k == 1:
		scaled = map[string]any{"name": phName, "op": "Identity", "input": []string{InputName}, "attr": map[string]any{"T": tfFloat}}
	case lo == 0:
		scaled = map[string]any{"name": phName, "op": "Mul", "input": []string{InputName, g.scalar("finetuner/input_scale", k)}, "attr": map[string]any{"T": tfFloat}}
	default:
		m := g.node("finetuner/input_scaled", "Mul", []string{InputName, g.scalar("finetuner/input_scale", k)}, nil)
		scaled = map[string]any{"name": phName, "op": "AddV2", "input": []string{m, g.scalar("finetuner/input_offset", lo)}, "attr": map[string]any{"T": tfFloat}}
	}
	for i, n := range s.nodes {
		if n["name"] == phName {
			s.nodes[i] = scaled
		}
	}

	// A fine-tuned head's layers: each replaced constant gets a new node in head.bin and its
	// convolution reads that one; the backbone's own stays in its shard, unread.
	ft, err := finetuned(h, func(node string) ([]string, bool) {
		for _, n := range s.nodes {
			if n["name"] == node {
				in, _ := n["input"].([]any)
				out := make([]string, len(in))
				for i, v := range in {
					out[i], _ = v.(string)
				}
				return out, true
			}
		}
		return nil, false
	})
	if err != nil {
		return nil, err
	}
	if len(ft) > 0 {
		for _, n := range s.nodes {
			in, _ := n["input"].([]any)
			for i, v := range in {
				name, _ := v.(string)
				c, _, _ := strings.Cut(name, ":")
				if o, ok := ft[c]; ok && n["op"] != "Const" {
					in[i] = g.constant("finetuner/finetuned/"+c, o.Shape, o.F, nil)
					delete(ft, c)
				}
			}
		}
	}

	x := s.info.Tap
	if !g.taken[x] {
		return nil, fmt.Errorf("export: the backbone's tap %q is not a node of its graph", x)
	}
	if s.info.Pool == "mean" {
		axes := g.constant("finetuner/pool_axes", []int{2}, nil, []int32{1, 2})
		x = g.node("finetuner/pool", "Mean", []string{x, axes}, map[string]any{"keep_dims": map[string]any{"b": false}, "Tidx": map[string]any{"type": "DT_INT32"}})
	}
	if h.Mean != nil {
		x = g.node("finetuner/standardize/sub", "Sub", []string{x, g.constant("finetuner/standardize/mean", []int{h.D}, h.Mean, nil)}, nil)
		x = g.node("finetuner/standardize/div", "RealDiv", []string{x, g.constant("finetuner/standardize/std", []int{h.D}, h.Std, nil)}, nil)
	}
	layers := h.Layers()
	for i, l := range layers {
		p := fmt.Sprintf("finetuner/head/layer%d/", i)
		// W is (out,in): the product with transpose_b is x·Wᵀ, as the head computes it.
		x = g.node(p+"matmul", "MatMul", []string{x, g.constant(p+"weight", []int{l.Out, l.In}, l.W, nil)},
			map[string]any{"transpose_a": map[string]any{"b": false}, "transpose_b": map[string]any{"b": true}})
		if l.B != nil {
			x = g.node(p+"bias", "AddV2", []string{x, g.constant(p+"bias/value", []int{l.Out}, l.B, nil)}, nil)
		}
		if i+1 == len(layers) {
			break
		}
		if h.Arch.Activation == "gelu" {
			x = g.gelu(p+"gelu/", x)
		} else {
			x = g.node(p+"relu", "Relu", []string{x}, nil)
		}
	}
	g.node(OutputName, "Softmax", []string{x}, nil)

	// The new nodes go after the backbone's, with the scaled input where the placeholder was.
	nodes := append(slices.Clone(s.nodes), g.nodes...)
	topo := map[string]any{}
	for k, v := range s.topo {
		topo[k] = v
	}
	topo["node"] = nodes
	var groups []json.RawMessage
	if err := json.Unmarshal(s.raw["weightsManifest"], &groups); err != nil {
		return nil, fmt.Errorf("export: the backbone's weightsManifest: %v", err)
	}
	out := map[string][]byte{}
	first, uniform := 0, true // the size of the backbone's first weight file; all of them that size
	for _, grp := range groups {
		var paths struct {
			Paths []string `json:"paths"`
		}
		if err := json.Unmarshal(grp, &paths); err != nil {
			return nil, fmt.Errorf("export: the backbone's weightsManifest: %v", err)
		}
		for _, p := range paths.Paths {
			b, ok := files[p]
			if !ok {
				return nil, fmt.Errorf("export: the backbone's weight file %q is missing", p)
			}
			if strings.HasPrefix(p, "head") && strings.HasSuffix(p, ".bin") || p == "model.json" {
				return nil, fmt.Errorf("export: the backbone's weight file is called %q, a name the export needs", p)
			}
			if first == 0 {
				first = len(b)
			}
			uniform = uniform && len(b) == first
			out[p] = b
		}
	}
	// TF.js 4.22 takes the weight files for equal-sized shards when all but the last are as
	// large as the first, and then reads zeros past that size in a larger last one: after
	// backbone files of one size, a head larger than them (megabytes with fine-tuned layers) goes
	// in shards of that size, head.bin, head2.bin, ...
	var headPaths []string
	for k, off := 1, 0; off < len(g.data) || k == 1; k++ {
		name := "head.bin"
		if k > 1 {
			name = fmt.Sprintf("head%d.bin", k)
		}
		end := len(g.data)
		if uniform && first > 0 {
			end = min(end, off+first)
		}
		out[name] = g.data[off:end]
		headPaths = append(headPaths, name)
		off = end
	}
	headGroup, _ := json.Marshal(map[string]any{"paths": headPaths, "weights": g.weights})
	groups = append(groups, headGroup)
	meta := metadata(s.info, h)
	model := map[string]any{
		"format":          "graph-model",
		"generatedBy":     fmt.Sprintf("finetuner: %s backbone + %s head", s.info.ID, h.Arch.Kind()),
		"convertedBy":     "finetuner modelexport",
		"modelTopology":   topo,
		"weightsManifest": groups,
		"signature": map[string]any{
			"inputs":  map[string]any{InputName: map[string]any{"name": InputName + ":0", "dtype": "DT_FLOAT", "tensorShape": tfShape([]int{-1, S, S, 3})}},
			"outputs": map[string]any{OutputName: map[string]any{"name": OutputName + ":0", "dtype": "DT_FLOAT", "tensorShape": tfShape([]int{-1, h.C})}},
		},
		"userDefinedMetadata": map[string]any{"finetuner": meta},
	}
	mj, err := json.Marshal(model)
	if err != nil {
		return nil, fmt.Errorf("export: %v", err)
	}
	out["model.json"] = mj
	return out, nil
}

// gelu adds the tanh form of GELU the head uses: 0.5·x·(1 + tanh(√(2/π)·(x + 0.044715·x³))).
func (g *tfGraph) gelu(p, x string) string {
	x3 := g.node(p+"cube", "Mul", []string{g.node(p+"square", "Mul", []string{x, x}, nil), x}, nil)
	inner := g.node(p+"inner", "AddV2", []string{x, g.node(p+"cube_scaled", "Mul", []string{x3, g.scalar(p+"c", 0.044715)}, nil)}, nil)
	t := g.node(p+"tanh", "Tanh", []string{g.node(p+"arg", "Mul", []string{inner, g.scalar(p+"k", 0.7978845608028654)}, nil)}, nil)
	half := g.node(p+"half_x", "Mul", []string{x, g.scalar(p+"half", 0.5)}, nil)
	return g.node(p+"out", "Mul", []string{half, g.node(p+"one_plus", "AddV2", []string{t, g.scalar(p+"one", 1)}, nil)}, nil)
}
