package head

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"

	"github.com/nlpodyssey/safetensors"
)

// The head file is a .safetensors file (the format of Hugging Face's safetensors library: an
// 8-byte little-endian header length, a JSON header, then the raw tensors), so any safetensors
// reader can open it. Tensors, all float32, C order:
//
//	layer0.weight (H1,D)  layer0.bias (H1)  ...  layerK.weight (C,HK)  [layerK.bias (C)]
//	norm.mean (D)  norm.std (D)        (only when the features are standardised)
//
// The header's __metadata__ (string → string) holds:
//
//	format "finetuner-head", format_version "1", labels (JSON array), arch (JSON Arch),
//	feature_dim, classes, backbone, tap, config (JSON Config), metrics (JSON), created.
//
// A head trained together with the last blocks of its backbone (Model.Backbone) is format_version
// "2" and also holds, float32 in the backbone's kernel layout, the changed layers' tensors
//
//	backbone.<node>.weight (OC,KH,KW,C) for a convolution, (KH,KW,C) for a depthwise one
//	backbone.<node>.bias   (OC)         (the convolution's bias, batch-norm folded in)
//
// and __metadata__ "finetune" (JSON Finetuned without its tensors: the blocks and the cut node).
// About 4 MB for centernet's last two blocks, 12 MB for mobilenetv2's. Version 1 readers refuse
// it as newer, so an older app never uses the head without the weights it needs.
const (
	FileFormat  = "finetuner-head"
	FileVersion = 2
	// MaxFileBytes bounds what ReadModel accepts: far above any head this trains (a 2-layer MLP of
	// width 2048 on 1792-d features is 25 MB), far below what would exhaust a browser tab.
	MaxFileBytes = 64 << 20
)

// MarshalSafetensors encodes the head as a .safetensors file.
func (m *Model) MarshalSafetensors() ([]byte, error) {
	tensors := map[string]safetensors.TensorView{}
	add := func(name string, v []float32, shape ...uint64) error {
		b := make([]byte, 4*len(v))
		for i, x := range v {
			binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(x))
		}
		tv, err := safetensors.NewTensorView(safetensors.F32, shape, b)
		if err != nil {
			return fmt.Errorf("head: encoding %s: %w", name, err)
		}
		tensors[name] = tv
		return nil
	}
	for i, l := range m.layers {
		if err := add(fmt.Sprintf("layer%d.weight", i), l.w, uint64(l.out), uint64(l.in)); err != nil {
			return nil, err
		}
		if l.b != nil {
			if err := add(fmt.Sprintf("layer%d.bias", i), l.b, uint64(l.out)); err != nil {
				return nil, err
			}
		}
	}
	if m.Mean != nil {
		if err := add("norm.mean", m.Mean, uint64(m.D)); err != nil {
			return nil, err
		}
		if err := add("norm.std", m.Std, uint64(m.D)); err != nil {
			return nil, err
		}
	}
	version := 1
	if b := m.Backbone; b != nil {
		version = 2
		for _, name := range b.Names {
			shape := make([]uint64, len(b.Shapes[name]))
			for i, d := range b.Shapes[name] {
				shape[i] = uint64(d)
			}
			if err := add(name, b.Tensors[name], shape...); err != nil {
				return nil, err
			}
		}
	}
	meta := map[string]string{
		"format":         FileFormat,
		"format_version": strconv.Itoa(version),
		"labels":         mustJSON(m.Labels),
		"arch":           mustJSON(m.Arch),
		"feature_dim":    strconv.Itoa(m.D),
		"classes":        strconv.Itoa(m.C),
		"backbone":       m.Meta.BackboneID,
		"tap":            m.Meta.Tap,
		"created":        m.Meta.Created,
	}
	if m.Meta.Config != nil {
		meta["config"] = mustJSON(m.Meta.Config)
	}
	if m.Meta.Metrics != nil {
		meta["metrics"] = mustJSON(m.Meta.Metrics)
	}
	if m.Backbone != nil {
		meta["finetune"] = mustJSON(m.Backbone)
	}
	return safetensors.Serialize(tensors, meta)
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic("head: " + err.Error())
	}
	return string(b)
}

// ReadModel decodes and validates a head file. Every way a file can be wrong (not safetensors,
// another format, a newer version, missing or extra tensors, wrong shapes or dtypes, bad labels,
// NaN weights) is an error that says what is wrong; it never panics.
func ReadModel(b []byte) (m *Model, err error) {
	defer func() {
		// The safetensors decoder is a dependency; a panic inside it on hostile input must still
		// come out as an error.
		if r := recover(); r != nil {
			m, err = nil, fmt.Errorf("head file: malformed safetensors data (%v)", r)
		}
	}()
	if len(b) > MaxFileBytes {
		return nil, fmt.Errorf("head file: %d bytes, more than the %d MB limit", len(b), MaxFileBytes>>20)
	}
	if len(b) < 8 {
		return nil, fmt.Errorf("head file: %d bytes; not a .safetensors file", len(b))
	}
	_, md, err := safetensors.ReadMetadata(b)
	if err != nil {
		return nil, fmt.Errorf("head file: not a valid .safetensors file: %v", err)
	}
	st, err := safetensors.Deserialize(b)
	if err != nil {
		return nil, fmt.Errorf("head file: not a valid .safetensors file: %v", err)
	}
	meta := md.Metadata()
	if meta["format"] != FileFormat {
		return nil, fmt.Errorf("head file: format %q, want %q (is this a head exported by this app?)", meta["format"], FileFormat)
	}
	v, err := strconv.Atoi(meta["format_version"])
	if err != nil || v < 1 {
		return nil, fmt.Errorf("head file: bad format_version %q", meta["format_version"])
	}
	if v > FileVersion {
		return nil, fmt.Errorf("head file: format version %d was written by a newer version of this app (this one reads %d)", v, FileVersion)
	}
	var labels []string
	if err := json.Unmarshal([]byte(meta["labels"]), &labels); err != nil {
		return nil, fmt.Errorf("head file: labels are not a JSON list of strings: %v", err)
	}
	var arch Arch
	if err := json.Unmarshal([]byte(meta["arch"]), &arch); err != nil {
		return nil, fmt.Errorf("head file: arch is not valid JSON: %v", err)
	}
	D, err := strconv.Atoi(meta["feature_dim"])
	if err != nil || D < 1 || D > 1<<20 {
		return nil, fmt.Errorf("head file: bad feature_dim %q", meta["feature_dim"])
	}
	if c, err := strconv.Atoi(meta["classes"]); err != nil || c != len(labels) {
		return nil, fmt.Errorf("head file: classes %q does not match the %d labels", meta["classes"], len(labels))
	}
	if err := validLabels(labels); err != nil {
		return nil, fmt.Errorf("head file: %v", err)
	}
	if err := arch.Validate(); err != nil {
		return nil, fmt.Errorf("head file: %v", err)
	}
	m = &Model{Arch: arch, D: D, C: len(labels), Labels: labels}
	if 4*m.paramCount() > len(b) {
		return nil, fmt.Errorf("head file: the %s head of %d→%d it declares needs %d parameters; the file holds only %d bytes", arch.Kind(), D, m.C, m.paramCount(), len(b))
	}
	m.Params = make([]float32, m.paramCount())
	m.bindLayers()
	want := map[string][]float32{}
	shapes := map[string][]uint64{}
	for i, l := range m.layers {
		name := fmt.Sprintf("layer%d.weight", i)
		want[name], shapes[name] = l.w, []uint64{uint64(l.out), uint64(l.in)}
		if l.b != nil {
			name = fmt.Sprintf("layer%d.bias", i)
			want[name], shapes[name] = l.b, []uint64{uint64(l.out)}
		}
	}
	if st.Len() > len(want) {
		if _, ok := st.Tensor("norm.mean"); ok {
			m.Mean, m.Std = make([]float32, D), make([]float32, D)
			want["norm.mean"], shapes["norm.mean"] = m.Mean, []uint64{uint64(D)}
			want["norm.std"], shapes["norm.std"] = m.Std, []uint64{uint64(D)}
		}
	}
	if ft := meta["finetune"]; ft != "" {
		if v < 2 {
			return nil, fmt.Errorf("head file: format version %d cannot hold fine-tuned backbone layers", v)
		}
		var fb Finetuned
		if err := json.Unmarshal([]byte(ft), &fb); err != nil || len(fb.Blocks) == 0 || fb.Cut == "" {
			return nil, fmt.Errorf("head file: finetune metadata is not a JSON object naming the blocks and the cut node")
		}
		fb.Tensors, fb.Shapes = map[string][]float32{}, map[string][]int{}
		for _, name := range st.Names() {
			if !strings.HasPrefix(name, "backbone.") {
				continue
			}
			tv, _ := st.Tensor(name)
			n := 1
			var shape []int
			for _, d := range tv.Shape() {
				if d > 1<<24 {
					return nil, fmt.Errorf("head file: tensor %q has shape %v", name, tv.Shape())
				}
				n *= int(d)
				shape = append(shape, int(d))
			}
			if n > 1<<24 {
				return nil, fmt.Errorf("head file: tensor %q has shape %v", name, tv.Shape())
			}
			fb.Names = append(fb.Names, name)
			fb.Tensors[name], fb.Shapes[name] = make([]float32, n), shape
			want[name], shapes[name] = fb.Tensors[name], tv.Shape()
		}
		if len(fb.Names) == 0 {
			return nil, fmt.Errorf("head file: finetune metadata but no backbone.* tensors")
		}
		sort.Strings(fb.Names)
		m.Backbone = &fb
	}
	for _, name := range st.Names() {
		if _, ok := want[name]; !ok {
			return nil, fmt.Errorf("head file: unexpected tensor %q for a %s head of %d→%d", name, arch.Kind(), D, m.C)
		}
	}
	for name, dst := range want {
		tv, ok := st.Tensor(name)
		if !ok {
			return nil, fmt.Errorf("head file: tensor %q is missing", name)
		}
		if tv.DType() != safetensors.F32 {
			return nil, fmt.Errorf("head file: tensor %q is %v, want F32", name, tv.DType())
		}
		if fmt.Sprint(tv.Shape()) != fmt.Sprint(shapes[name]) {
			return nil, fmt.Errorf("head file: tensor %q has shape %v, want %v", name, tv.Shape(), shapes[name])
		}
		data := tv.Data()
		if len(data) != 4*len(dst) {
			return nil, fmt.Errorf("head file: tensor %q holds %d bytes, want %d", name, len(data), 4*len(dst))
		}
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(data[4*i:]))
		}
		if err := CheckFinite(dst, 1); err != nil {
			return nil, fmt.Errorf("head file: tensor %q holds a value that is not a finite number", name)
		}
	}
	for _, s := range m.Std {
		if !(s > 0) {
			return nil, fmt.Errorf("head file: norm.std holds %v; standard deviations must be positive", s)
		}
	}
	// Finite weights can still overflow: a head must at least give a finite output at the centre
	// of the data it was trained on (its mean feature vector, or zero without normalisation).
	centre := m.Mean
	if centre == nil {
		centre = make([]float32, D)
	}
	if err := m.Predict(make([]float32, m.C), centre, 1); err != nil {
		return nil, fmt.Errorf("head file: the weights overflow: the head's output at the mean feature vector is not a finite number")
	}
	m.Meta = Meta{BackboneID: meta["backbone"], Tap: meta["tap"], Created: meta["created"]}
	if c := meta["config"]; c != "" {
		var cfg Config
		if err := json.Unmarshal([]byte(c), &cfg); err != nil {
			return nil, fmt.Errorf("head file: config is not valid JSON: %v", err)
		}
		m.Meta.Config = &cfg
	}
	if s := meta["metrics"]; s != "" {
		if err := json.Unmarshal([]byte(s), &m.Meta.Metrics); err != nil {
			return nil, fmt.Errorf("head file: metrics are not valid JSON: %v", err)
		}
	}
	return m, nil
}

func validLabels(labels []string) error {
	if len(labels) < 2 {
		return fmt.Errorf("%d class(es); a classifier needs at least 2", len(labels))
	}
	if len(labels) > 10000 {
		return fmt.Errorf("%d classes; at most 10000", len(labels))
	}
	seen := map[string]bool{}
	for _, l := range labels {
		if l == "" {
			return fmt.Errorf("a class has an empty name")
		}
		if seen[l] {
			return fmt.Errorf("class name %q appears twice", l)
		}
		seen[l] = true
	}
	return nil
}

// Finetuned is what a head trained with the last blocks of its backbone carries: the blocks, the
// node below them (whose output the blocks read), and the new values of every tensor of those
// layers, named "backbone.<node>.weight|bias" (backbone.Model.WithWeights applies them).
type Finetuned struct {
	Blocks  []string             `json:"blocks"`
	Cut     string               `json:"cut"`
	Names   []string             `json:"-"` // tensor names, sorted
	Tensors map[string][]float32 `json:"-"`
	Shapes  map[string][]int     `json:"-"`
}
