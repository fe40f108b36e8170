package backbone

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"path"

	"finetuner/kernels"
)

// Info describes a backbone: what the manifest (public/models/manifest.json) lists for each model
// and what model.json carries in its "finetuner" block.
type Info struct {
	ID         string     `json:"id"`         // directory name under public/models, e.g. "centernet"
	Name       string     `json:"name"`       // human name, e.g. "MobileNetV3 (MB3-CenterNet backbone)"
	InputSize  int        `json:"inputSize"`  // the network runs on InputSize×InputSize RGB
	InputRange [2]float32 `json:"inputRange"` // pixel values 0..255 map linearly onto this range
	Tap        string     `json:"tap"`        // the graph node whose output is the feature map
	Pool       string     `json:"pool"`       // "mean": average the tap over space; "none": tap is already a vector
	Dim        int        `json:"dim"`        // feature length
	Bytes      int64      `json:"bytes"`      // size of model.json plus weights, as converted
	Licence    string     `json:"licence"`    // licence of the weights
	Provenance string     `json:"provenance"` // where the weights come from and what they were trained on
	Source     string     `json:"source"`     // npm package and files they were converted from
}

// Model is a loaded backbone: the compiled graph, its weights, and the buffers one forward pass
// needs, allocated once. A Model is not safe for concurrent use; Clone gives another one that shares
// the weights.
type Model struct {
	info  Info
	g     *graph
	slots [][]float32
	col   []float32
	pre   preBuffers
}

// Info returns the model's description.
func (m *Model) Info() Info { return m.info }

// Dim returns the length of the feature vectors the model produces.
func (m *Model) Dim() int { return m.info.Dim }

// InputShape returns the (H, W, C) the network runs on.
func (m *Model) InputShape() (h, w, c int) {
	return m.g.inShape[1], m.g.inShape[2], m.g.inShape[3]
}

// PeakBytes returns the bytes of activation memory one forward pass uses (all arena slots plus the
// im2col scratch), allocated once per Model and reused for every image.
func (m *Model) PeakBytes() int64 {
	n := len(m.col)
	for _, s := range m.slots {
		n += len(s)
	}
	return 4 * int64(n)
}

// WeightBytes returns the bytes of float32 weights held after loading, the convolutions' packed
// copies (kernels.PackWeights) included.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, s := range m.g.steps {
		n += 4 * int64(len(s.w)+len(s.bias)+len(s.ka)+len(s.kb))
		if s.pw != nil {
			n += s.pw.Bytes()
		}
	}
	return n
}

// Clone returns a Model sharing m's compiled graph and weights with its own buffers, for running
// images on another goroutine.
func (m *Model) Clone() *Model {
	c := &Model{info: m.info, g: m.g}
	c.alloc()
	return c
}

func (m *Model) alloc() {
	arena := make([]float32, 0, func() int {
		n := 0
		for _, s := range m.g.slotSize {
			n += s
		}
		return n
	}())
	m.slots = make([][]float32, len(m.g.slotSize))
	for i, s := range m.g.slotSize {
		m.slots[i] = arena[len(arena) : len(arena)+s]
		arena = arena[:len(arena)+s]
	}
	m.col = make([]float32, m.g.colSize)
}

// Load reads a backbone from dir in fsys: dir/model.json (a TF.js graph model whose "finetuner"
// block is the model's Info, as scripts/models.sh writes it) and the weight files it lists.
func Load(fsys fs.FS, dir string) (*Model, error) {
	mj, err := fs.ReadFile(fsys, path.Join(dir, "model.json"))
	if err != nil {
		return nil, fmt.Errorf("backbone: %w", err)
	}
	return LoadGraphModel(mj, func(p string) ([]byte, error) {
		// Weight files sit beside model.json: no absolute paths, no "..".
		if !fs.ValidPath(p) {
			return nil, fmt.Errorf("weight path %q is not a plain relative path", p)
		}
		return fs.ReadFile(fsys, path.Join(dir, p))
	}, nil)
}

// LoadFiles reads a backbone from bytes already in memory (fetched by a web page, for example):
// files maps "model.json" and each weight path named in its manifest to the file's contents.
func LoadFiles(files map[string][]byte) (*Model, error) {
	mj, ok := files["model.json"]
	if !ok {
		return nil, errors.New("backbone: no model.json among the files")
	}
	return LoadGraphModel(mj, func(p string) ([]byte, error) {
		b, ok := files[p]
		if !ok {
			return nil, fmt.Errorf("weight file %q is missing", p)
		}
		return b, nil
	}, nil)
}

// LoadGraphModel compiles a TF.js graph model. modelJSON is model.json; shard returns a weight
// file named in its manifest. info describes the model (tap, input size and range, pooling); if
// nil, model.json's "finetuner" block is used, which any TF.js graph model can be given by hand:
//
//	"finetuner": {"id": "mine", "name": "My net", "inputSize": 224, "inputRange": [0, 1],
//	              "tap": "model/global_pool/Mean", "pool": "none"}
//
// Dim is computed from the graph. Every op on the path from the input to the tap must be one the
// runtime supports; any other gives an error naming the op and the node.
func LoadGraphModel(modelJSON []byte, shard func(path string) ([]byte, error), info *Info) (*Model, error) {
	var mj graphModelJSON
	if err := json.Unmarshal(modelJSON, &mj); err != nil {
		return nil, fmt.Errorf("backbone: model.json is not valid JSON: %v", err)
	}
	if mj.Format != "" && mj.Format != "graph-model" {
		return nil, fmt.Errorf("backbone: model.json has format %q; only TF.js graph models (format \"graph-model\") are supported", mj.Format)
	}
	var topo topology
	if len(mj.ModelTopology) == 0 {
		return nil, errors.New("backbone: model.json has no modelTopology")
	}
	if err := json.Unmarshal(mj.ModelTopology, &topo); err != nil {
		return nil, fmt.Errorf("backbone: modelTopology: %v", err)
	}
	if len(topo.Node) == 0 {
		return nil, errors.New("backbone: modelTopology has no nodes (is this a layers model? only graph models are supported)")
	}
	if info == nil {
		info = mj.Finetuner
	}
	if info == nil {
		return nil, errors.New(`backbone: no model description: pass an Info or add a "finetuner" block (tap, inputSize, inputRange, pool) to model.json`)
	}
	in := *info
	if in.Tap == "" {
		return nil, errors.New("backbone: the model description names no tap node")
	}
	if in.InputSize < 8 || in.InputSize > 1024 {
		return nil, fmt.Errorf("backbone: input size %d out of range 8..1024", in.InputSize)
	}
	if r := in.InputRange; !(r[0] < r[1]) || math.IsInf(float64(r[1]-r[0]), 0) {
		return nil, fmt.Errorf("backbone: input range %v is not an interval", r)
	}
	switch in.Pool {
	case "":
		in.Pool = "mean"
	case "mean", "none":
	default:
		return nil, fmt.Errorf("backbone: pool %q: want \"mean\" or \"none\"", in.Pool)
	}
	weights, err := decodeWeights(mj.WeightsManifest, shard)
	if err != nil {
		return nil, fmt.Errorf("backbone: %v", err)
	}
	g, err := compile(topo.Node, weights, in.Tap, in.InputSize)
	if err != nil {
		return nil, fmt.Errorf("backbone: %v", err)
	}
	os := g.outShape
	in.Dim = 0
	switch {
	case in.Pool == "mean" && len(os) == 4:
		in.Dim = os[3]
	case in.Pool == "none" && len(os) >= 1 && mustElems(os) == os[len(os)-1]:
		in.Dim = os[len(os)-1]
	default:
		return nil, fmt.Errorf("backbone: tap %q has shape %v, which pool %q does not turn into a vector", in.Tap, os, in.Pool)
	}
	if info.Dim != 0 && info.Dim != in.Dim {
		return nil, fmt.Errorf("backbone: the description says dim %d but tap %q gives %d", info.Dim, in.Tap, in.Dim)
	}
	m := &Model{info: in, g: g}
	m.alloc()
	return m, nil
}

// Forward runs the network on one preprocessed image x, (H,W,C) as InputShape gives, and writes
// the feature vector (Dim values) to dst.
func (m *Model) Forward(dst, x []float32) error {
	h, w, c := m.InputShape()
	if len(x) != h*w*c {
		return fmt.Errorf("backbone: input has %d values, want %d (%dx%dx%d)", len(x), h*w*c, h, w, c)
	}
	if len(dst) < m.info.Dim {
		return fmt.Errorf("backbone: dst has %d values, want %d", len(dst), m.info.Dim)
	}
	copy(m.buf(m.g.inBuf), x)
	m.run()
	out := m.buf(m.g.outBuf)
	if m.info.Pool == "mean" {
		kernels.MeanHW(dst, out, m.g.outShape[1], m.g.outShape[2], m.g.outShape[3])
	} else {
		copy(dst, out[:m.info.Dim])
	}
	for i, v := range dst[:m.info.Dim] {
		if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
			return fmt.Errorf("backbone: feature %d is %v (non-finite input or weights?)", i, v)
		}
	}
	return nil
}

func (m *Model) buf(b int) []float32 {
	return m.slots[m.g.bufSlot[b]][:m.g.bufSize[b]]
}

func (m *Model) run() {
	for i := range m.g.steps {
		s := &m.g.steps[i]
		out := m.buf(s.out)
		switch s.kind {
		case opConv:
			s.conv(out, m.buf(s.in0), m.col)
		case opDepthwise:
			kernels.DepthwiseConv2D(out, m.buf(s.in0), s.w, s.bias, s.H, s.W, s.C, s.KH, s.KW, s.stride, s.pt, s.pl, s.OH, s.OW, s.act)
		case opAvgPool:
			kernels.AvgPool2D(out, m.buf(s.in0), s.H, s.W, s.C, s.KH, s.KW, s.stride, s.pt, s.pl, s.OH, s.OW)
		case opMean:
			kernels.MeanHW(out, m.buf(s.in0), s.H, s.W, s.C)
		case opUnary:
			x := m.buf(s.in0)
			if s.act == kernels.FusedRelu {
				kernels.Relu(out, x)
			} else {
				kernels.Relu6(out, x)
			}
		case opHardSwish:
			kernels.HardSwishScaled(out, m.buf(s.in0), s.k, s.shift)
		case opBinary:
			a, b := s.ka, s.kb
			if s.in0 >= 0 {
				a = m.buf(s.in0)
			}
			if s.in1 >= 0 {
				b = m.buf(s.in1)
			}
			binaryStep(out, a, b, s)
		}
	}
}

// binaryStep runs an element-wise step: a is the full-size operand, b the same size, one value, one
// value per channel, or (bcGeneral) anything that broadcasts.
func binaryStep(out, a, b []float32, s *step) {
	op := s.op
	if op == binSub && s.swap {
		// out = b - a: negate after subtracting the other way round would round differently, so
		// run the general loop with the operands in graph order.
		binaryGeneral(out, b, a, s.bShape, s.aShape, s.outShape, binSub)
		return
	}
	switch s.bc {
	case bcSame:
		binaryEqual(out[:len(a)], a, b[:len(a)], op)
	case bcScalar:
		y := b[0]
		out = out[:len(a)]
		switch op {
		case binAdd:
			for i, x := range a {
				out[i] = x + y
			}
		case binSub:
			for i, x := range a {
				out[i] = x - y
			}
		case binMul:
			for i, x := range a {
				out[i] = x * y
			}
		}
	case bcChannel:
		C := len(b)
		for p := 0; p+C <= len(a); p += C {
			binaryEqual(out[p:p+C], a[p:p+C], b, op)
		}
	default:
		binaryGeneral(out, a, b, s.aShape, s.bShape, s.outShape, op)
	}
}

// binaryEqual is out[i] = a[i] op b[i] over slices of one length: the whole tensor when the shapes
// match, one pixel's channels when b is a per-channel vector.
func binaryEqual(out, a, b []float32, op binOp) {
	kernels.Elementwise(out, a, b, [...]kernels.Binary{binAdd: kernels.BinaryAdd, binSub: kernels.BinarySub, binMul: kernels.BinaryMul}[op])
}

// ReadManifest reads manifest.json from the root of fsys (public/models, as scripts/models.sh
// writes it) and returns the backbones it lists, the default first.
func ReadManifest(fsys fs.FS) ([]Info, error) {
	b, err := fs.ReadFile(fsys, "manifest.json")
	if err != nil {
		return nil, fmt.Errorf("backbone: %w (./build.sh models writes it)", err)
	}
	var man struct {
		Backbones []Info `json:"backbones"`
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return nil, fmt.Errorf("backbone: manifest.json: %v", err)
	}
	if len(man.Backbones) == 0 {
		return nil, errors.New("backbone: manifest.json lists no backbones")
	}
	return man.Backbones, nil
}
