package head

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"math"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

func trainedHead(t testing.TB, arch Arch) (*Model, *Dataset) {
	ds := blobs(3, 20, 6, 0.7, 9)
	m, _, err := Train(context.Background(), ds, Config{Arch: arch, Epochs: 3, Seed: 1, ValFraction: 0.2}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Meta.BackboneID, m.Meta.Tap, m.Meta.Created = "centernet-mbv3", "tower_0/extern1/hard_swish/mul_1", "2026-11-27T00:00:00Z"
	return m, ds
}

func TestHeadFileRoundTrip(t *testing.T) {
	for _, arch := range []Arch{{}, {Hidden: []int{8}, Activation: "gelu"}, {Hidden: []int{8, 4}, NoOutputBias: true}} {
		m, ds := trainedHead(t, arch)
		b, err := m.MarshalSafetensors()
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ReadModel(b)
		if err != nil {
			t.Fatal(err)
		}
		if paramsHash(m2.Params) != paramsHash(m.Params) || strings.Join(m2.Labels, ",") != strings.Join(m.Labels, ",") {
			t.Fatal("weights or labels changed in the round trip")
		}
		if m2.Meta.BackboneID != "centernet-mbv3" || m2.Meta.Config == nil || m2.Meta.Config.Seed != 1 || m2.Meta.Metrics["valAcc"] != m.Meta.Metrics["valAcc"] {
			t.Fatalf("metadata lost: %+v", m2.Meta)
		}
		p1, p2 := make([]float32, ds.N*3), make([]float32, ds.N*3)
		m.Predict(p1, ds.X, ds.N)
		m2.Predict(p2, ds.X, ds.N)
		if paramsHash(p1) != paramsHash(p2) {
			t.Fatal("predictions differ after the round trip")
		}
		// Any safetensors reader sees the documented tensors.
		st, err := safetensors.Deserialize(b)
		if err != nil {
			t.Fatal(err)
		}
		if _, ok := st.Tensor("layer0.weight"); !ok {
			t.Fatalf("tensors: %v", st.Names())
		}
	}
}

// rewrite re-encodes a head file with its metadata or tensors changed by f.
func rewrite(t *testing.T, b []byte, f func(meta map[string]string, tensors map[string]safetensors.TensorView)) []byte {
	t.Helper()
	_, md, _ := safetensors.ReadMetadata(b)
	st, _ := safetensors.Deserialize(b)
	meta := md.Metadata()
	tensors := map[string]safetensors.TensorView{}
	for _, nt := range st.Tensors() {
		tensors[nt.Name] = nt.TensorView
	}
	f(meta, tensors)
	out, err := safetensors.Serialize(tensors, meta)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestHeadFileErrors(t *testing.T) {
	m, _ := trainedHead(t, Arch{Hidden: []int{5}})
	good, _ := m.MarshalSafetensors()
	nan := make([]byte, 4*5)
	binary.LittleEndian.PutUint32(nan[8:], 0x7fc00000)
	cases := map[string][]byte{
		"not a .safetensors": []byte("hello"),
		"not a valid":        append([]byte{200, 0, 0, 0, 0, 0, 0, 0}, []byte("{not json")...),
		"format \"\"": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) {
			delete(meta, "format")
		}),
		"newer version": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) { meta["format_version"] = "9" }),
		"labels are not": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) {
			meta["labels"] = "cat,dog"
		}),
		"appears twice": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) {
			meta["labels"] = `["a","a","b"]`
		}),
		"does not match": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) {
			meta["labels"] = `["a","b"]`
		}),
		"bad feature_dim": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) { meta["feature_dim"] = "-3" }),
		"is missing":      rewrite(t, good, func(_ map[string]string, ts map[string]safetensors.TensorView) { delete(ts, "layer1.bias") }),
		"unexpected tensor": rewrite(t, good, func(_ map[string]string, ts map[string]safetensors.TensorView) {
			ts["layer7.weight"] = ts["layer1.bias"]
		}),
		"has shape": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) {
			meta["arch"] = mustJSON(Arch{Hidden: []int{6}})
		}),
		"not a finite": rewrite(t, good, func(_ map[string]string, ts map[string]safetensors.TensorView) {
			tv, _ := safetensors.NewTensorView(safetensors.F32, []uint64{5}, nan)
			ts["layer0.bias"] = tv
		}),
		"weights overflow": rewrite(t, good, func(_ map[string]string, ts map[string]safetensors.TensorView) {
			// Every weight is finite, but 3e38·3e38 summed in the second layer is not.
			for _, name := range []string{"layer0.bias", "layer1.weight"} {
				shape := ts[name].Shape()
				huge := make([]byte, len(ts[name].Data()))
				for i := 0; i < len(huge); i += 4 {
					binary.LittleEndian.PutUint32(huge[i:], math.Float32bits(3e38))
				}
				tv, _ := safetensors.NewTensorView(safetensors.F32, shape, huge)
				ts[name] = tv
			}
		}),
		"want F32": rewrite(t, good, func(_ map[string]string, ts map[string]safetensors.TensorView) {
			tv, _ := safetensors.NewTensorView(safetensors.I32, []uint64{5}, make([]byte, 20))
			ts["layer0.bias"] = tv
		}),
		"hidden layers": rewrite(t, good, func(meta map[string]string, _ map[string]safetensors.TensorView) {
			meta["arch"] = `{"hidden":[1,2,3]}`
		}),
	}
	for want, b := range cases {
		_, err := ReadModel(b)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	// A truncated file at every length is an error, never a panic.
	for n := 0; n < len(good); n += 7 {
		if _, err := ReadModel(good[:n]); err == nil {
			t.Fatalf("truncated to %d bytes: no error", n)
		}
	}
	var metrics map[string]float64
	_, md, _ := safetensors.ReadMetadata(good)
	if err := json.Unmarshal([]byte(md.Metadata()["metrics"]), &metrics); err != nil || metrics["nTrain"] == 0 {
		t.Fatalf("metrics in file: %v %v", metrics, err)
	}
}

// FuzzReadModel feeds arbitrary bytes, and mutations of real head files, to the loader: it must
// return a model or an error, never panic. A model it returns must predict finite probabilities at
// its mean feature vector, and elsewhere either finite probabilities or an error saying the weights
// overflow, never NaNs.
func FuzzReadModel(f *testing.F) {
	for _, arch := range []Arch{{}, {Hidden: []int{4}, Activation: "gelu"}} {
		m, _ := trainedHead(f, arch)
		b, _ := m.MarshalSafetensors()
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add([]byte("\x02\x00\x00\x00\x00\x00\x00\x00{}"))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := ReadModel(b)
		if err != nil {
			return
		}
		p := make([]float32, m.C)
		centre := m.Mean
		if centre == nil {
			centre = make([]float32, m.D)
		}
		if err := m.Predict(p, centre, 1); err != nil {
			t.Fatalf("a model that loaded cannot predict at its mean: %v", err)
		}
		if err := CheckFinite(p, m.C); err != nil {
			t.Fatalf("loaded model predicts %v at its mean", p)
		}
		for _, v := range []float32{0, 1, -3} {
			x := make([]float32, m.D)
			for i := range x {
				x[i] = v
			}
			err := m.Predict(p, x, 1)
			if err != nil && !strings.Contains(err.Error(), "overflow") {
				t.Fatalf("predict on %v: %v", v, err)
			}
			if err == nil && CheckFinite(p, m.C) != nil {
				t.Fatalf("loaded model predicts %v on features all %v", p, v)
			}
		}
	})
}
