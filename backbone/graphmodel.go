package backbone

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// The TF.js graph-model file format (tfjs-converter's model.json): a GraphDef as JSON plus a weights
// manifest naming each Const node's values, which are stored one after another in the binary shards.

type graphModelJSON struct {
	Format          string          `json:"format"`
	GeneratedBy     string          `json:"generatedBy"`
	ConvertedBy     string          `json:"convertedBy"`
	ModelTopology   json.RawMessage `json:"modelTopology"`
	WeightsManifest []weightsGroup  `json:"weightsManifest"`
	Finetuner       *Info           `json:"finetuner,omitempty"`
}

type topology struct {
	Node []NodeDef `json:"node"`
}

type weightsGroup struct {
	Paths   []string     `json:"paths"`
	Weights []weightSpec `json:"weights"`
}

type weightSpec struct {
	Name         string        `json:"name"`
	Shape        []int         `json:"shape"`
	Dtype        string        `json:"dtype"`
	Quantization *quantization `json:"quantization,omitempty"`
}

type quantization struct {
	Dtype         string   `json:"dtype"`
	Min           *float64 `json:"min,omitempty"`
	Scale         *float64 `json:"scale,omitempty"`
	OriginalDtype string   `json:"original_dtype,omitempty"`
}

// NodeDef is one node of a TF.js graph model's GraphDef (model.json's modelTopology.node[i]), the
// form this package compiles and modelexport converts to ONNX. Input names a node's inputs as
// "node" or "node:k" (output k), with "^node" for a control dependency.
type NodeDef struct {
	Name  string               `json:"name"`
	Op    string               `json:"op"`
	Input []string             `json:"input"`
	Attr  map[string]AttrValue `json:"attr"`
}

// Ints returns the integer list attribute key (strides, ksize, dilations, squeeze_dims), or nil
// if the node has none.
func (n *NodeDef) Ints(key string) []int64 {
	a, ok := n.Attr[key]
	if !ok || a.List == nil {
		return nil
	}
	out := make([]int64, len(a.List.I))
	for i, v := range a.List.I {
		out[i] = int64(v)
	}
	return out
}

// AttrValue is a TF AttrValue as JSON: S holds the bytes of a string (base64 in the file), I an
// int64 (a decimal string in the file), Type a dtype name such as "DT_FLOAT"; only the fields the
// attribute sets are non-zero.
type AttrValue struct {
	S     []byte       `json:"s"`
	I     JSONInt      `json:"i"`
	F     float64      `json:"f"`
	B     bool         `json:"b"`
	Type  string       `json:"type"`
	List  *AttrList    `json:"list"`
	Shape *TensorShape `json:"shape"`
}

// TensorShape is a TF TensorShapeProto: one entry per dimension, -1 for an unknown size.
type TensorShape struct {
	Dim []struct {
		Size JSONInt `json:"size"`
	} `json:"dim"`
}

// AttrList is the list form of an AttrValue (a list of strings, integers or floats).
type AttrList struct {
	S [][]byte  `json:"s"`
	I []JSONInt `json:"i"`
	F []float64 `json:"f"`
}

// JSONInt is an int64 read from a JSON number or from a decimal string (TF writes int64s as
// strings in JSON).
type JSONInt int64

func (j *JSONInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("not an integer: %s", b)
	}
	*j = JSONInt(v)
	return nil
}

// maxElems bounds every tensor a model file may declare (64 M elements is far beyond any
// backbone), so a malformed file gives an error instead of an enormous allocation.
const maxElems = 1 << 26

func numElems(shape []int) (int, error) {
	n := 1
	for _, d := range shape {
		if d < 0 {
			return 0, fmt.Errorf("negative dimension in shape %v", shape)
		}
		if d != 0 && n > maxElems/d {
			return 0, fmt.Errorf("shape %v is too large", shape)
		}
		n *= d
	}
	return n, nil
}

// constTensor is one decoded weight: float32 values (dequantised) or int32 values.
type constTensor struct {
	shape []int
	f     []float32
	i     []int32
}

// decodeWeights splits each manifest group's concatenated shards into named tensors, dequantising
// float16 and affine uint8/uint16 weights to float32 (value = min + scale·q).
func decodeWeights(groups []weightsGroup, shard func(path string) ([]byte, error)) (map[string]*constTensor, error) {
	out := map[string]*constTensor{}
	for g, grp := range groups {
		var data []byte
		for _, p := range grp.Paths {
			b, err := shard(p)
			if err != nil {
				return nil, fmt.Errorf("weights group %d: %w", g, err)
			}
			data = append(data, b...)
		}
		off := 0
		for _, w := range grp.Weights {
			n, err := numElems(w.Shape)
			if err != nil {
				return nil, fmt.Errorf("weight %q: %v", w.Name, err)
			}
			t := &constTensor{shape: append([]int{}, w.Shape...)}
			size, stored := 0, w.Dtype
			if w.Quantization != nil {
				stored = w.Quantization.Dtype
			}
			switch stored {
			case "float32", "int32":
				size = 4
			case "float16", "uint16":
				size = 2
			case "uint8", "bool":
				size = 1
			default:
				return nil, fmt.Errorf("weight %q: unsupported stored dtype %q", w.Name, stored)
			}
			if off+n*size > len(data) || off+n*size < off {
				return nil, fmt.Errorf("weight %q needs bytes %d..%d but weights group %d has %d bytes: the weight files are truncated or do not belong to this model.json",
					w.Name, off, off+n*size, g, len(data))
			}
			b := data[off : off+n*size]
			off += n * size
			switch {
			case w.Dtype == "int32" && w.Quantization == nil:
				t.i = make([]int32, n)
				for k := range t.i {
					t.i[k] = int32(le32(b[4*k:]))
				}
			case w.Dtype == "float32" && w.Quantization == nil:
				t.f = make([]float32, n)
				for k := range t.f {
					t.f[k] = math.Float32frombits(le32(b[4*k:]))
				}
			case w.Dtype == "float32" && stored == "float16":
				t.f = make([]float32, n)
				for k := range t.f {
					t.f[k] = float16to32(uint16(b[2*k]) | uint16(b[2*k+1])<<8)
				}
			case w.Dtype == "float32" && (stored == "uint8" || stored == "uint16"):
				q := w.Quantization
				if q.Min == nil || q.Scale == nil {
					return nil, fmt.Errorf("weight %q: %s quantisation without min and scale", w.Name, stored)
				}
				lo, sc := float32(*q.Min), float32(*q.Scale)
				t.f = make([]float32, n)
				for k := range t.f {
					v := uint32(b[k])
					if size == 2 {
						v = uint32(b[2*k]) | uint32(b[2*k+1])<<8
					}
					t.f[k] = lo + sc*float32(v)
				}
			case w.Dtype == "int32" && stored == "uint8" || w.Dtype == "int32" && stored == "uint16":
				// Quantised integer weights (shape constants) round to the nearest integer, as tfjs does.
				q := w.Quantization
				if q.Min == nil || q.Scale == nil {
					return nil, fmt.Errorf("weight %q: %s quantisation without min and scale", w.Name, stored)
				}
				t.i = make([]int32, n)
				for k := range t.i {
					v := float64(b[k])
					if size == 2 {
						v = float64(uint32(b[2*k]) | uint32(b[2*k+1])<<8)
					}
					t.i[k] = int32(math.Round(*q.Min + *q.Scale*v))
				}
			case w.Dtype == "bool":
				t.i = make([]int32, n)
				for k := range t.i {
					t.i[k] = int32(b[k])
				}
			default:
				return nil, fmt.Errorf("weight %q: unsupported dtype %q stored as %q", w.Name, w.Dtype, stored)
			}
			if _, dup := out[w.Name]; dup {
				return nil, fmt.Errorf("weight %q listed twice in the manifest", w.Name)
			}
			out[w.Name] = t
		}
		if off != len(data) {
			return nil, fmt.Errorf("weights group %d: the manifest describes %d bytes but the files hold %d", g, off, len(data))
		}
	}
	return out, nil
}

func le32(b []byte) uint32 {
	return uint32(b[0]) | uint32(b[1])<<8 | uint32(b[2])<<16 | uint32(b[3])<<24
}

// float16to32 converts an IEEE 754 half-precision value to float32 exactly (subnormals, infinities
// and NaNs included).
func float16to32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := uint32(h>>10) & 0x1f
	man := uint32(h) & 0x3ff
	switch {
	case exp == 0 && man == 0:
		return math.Float32frombits(sign)
	case exp == 0:
		// Subnormal: normalise the mantissa into a float32 exponent.
		e := uint32(127 - 15 + 1)
		for man&0x400 == 0 {
			man <<= 1
			e--
		}
		return math.Float32frombits(sign | e<<23 | (man&0x3ff)<<13)
	case exp == 0x1f:
		return math.Float32frombits(sign | 0xff<<23 | man<<13)
	}
	return math.Float32frombits(sign | (exp+127-15)<<23 | man<<13)
}

// Tensor is a decoded weight of a graph model: float32 values (dequantised) or int32 values,
// row-major in Shape.
type Tensor struct {
	Shape []int
	F     []float32
	I     []int32
}

// DecodeWeights reads every weight named in a TF.js graph model's manifest from the files shard
// returns, dequantised exactly as the runtime does, for exporters that write the network in
// another format.
func DecodeWeights(modelJSON []byte, shard func(path string) ([]byte, error)) (map[string]Tensor, error) {
	var mj graphModelJSON
	if err := json.Unmarshal(modelJSON, &mj); err != nil {
		return nil, fmt.Errorf("backbone: model.json is not valid JSON: %v", err)
	}
	w, err := decodeWeights(mj.WeightsManifest, shard)
	if err != nil {
		return nil, fmt.Errorf("backbone: %v", err)
	}
	out := make(map[string]Tensor, len(w))
	for k, t := range w {
		out[k] = Tensor{Shape: t.shape, F: t.f, I: t.i}
	}
	return out, nil
}
