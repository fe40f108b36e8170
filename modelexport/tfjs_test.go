package modelexport

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"io"
	"strconv"
	"strings"
	"testing"

	"finetuner/head"
	"finetuner/kernels"
)

// tinyBackbone is a TF.js graph model of one op, image (1,4,4,3) → Mul by 2, tapped there and
// averaged over space: 3-d features, input range 0..1.
func tinyBackbone(t *testing.T) map[string][]byte {
	t.Helper()
	mj := map[string]any{
		"format": "graph-model", "generatedBy": "test", "convertedBy": "test",
		"modelTopology": map[string]any{"node": []map[string]any{
			{"name": "x", "op": "Placeholder", "attr": map[string]any{"shape": map[string]any{"shape": tfShape([]int{1, 4, 4, 3})}, "dtype": tfFloat}},
			{"name": "two", "op": "Const", "attr": map[string]any{"value": map[string]any{"tensor": map[string]any{"dtype": "DT_FLOAT", "tensorShape": map[string]any{}}}, "dtype": tfFloat}},
			{"name": "feat", "op": "Mul", "input": []string{"x", "two"}, "attr": map[string]any{"T": tfFloat}},
		}},
		"weightsManifest": []map[string]any{{"paths": []string{"weights.bin"}, "weights": []map[string]any{{"name": "two", "shape": []int{}, "dtype": "float32"}}}},
		"finetuner":       map[string]any{"id": "tiny", "inputSize": 4, "inputRange": []float32{0, 1}, "tap": "feat", "pool": "mean", "dim": 3},
	}
	b, err := json.Marshal(mj)
	if err != nil {
		t.Fatal(err)
	}
	return map[string][]byte{"model.json": b, "weights.bin": {0, 0, 0, 0x40}}
}

func tinyHead(t *testing.T, arch head.Arch, D int, backbone string) *head.Model {
	t.Helper()
	rng := kernels.NewRNG(3)
	m, err := head.NewModel(arch, D, []string{"cat", "dog"}, &rng)
	if err != nil {
		t.Fatal(err)
	}
	m.Mean, m.Std = make([]float32, D), make([]float32, D)
	for i := range D {
		m.Mean[i], m.Std[i] = 0.5, 2
	}
	m.Meta.BackboneID = backbone
	return m
}

func TestTFJSGraph(t *testing.T) {
	h := tinyHead(t, head.Arch{Hidden: []int{5}, Activation: "gelu"}, 3, "tiny")
	out, err := TFJS(tinyBackbone(t), h)
	if err != nil {
		t.Fatal(err)
	}
	var mj struct {
		Topology struct {
			Node []struct {
				Name, Op string
				Input    []string
			} `json:"node"`
		} `json:"modelTopology"`
		Manifest []struct {
			Paths   []string
			Weights []struct {
				Name  string
				Shape []int
			}
		} `json:"weightsManifest"`
		Meta struct{ Finetuner Metadata } `json:"userDefinedMetadata"`
	}
	if err := json.Unmarshal(out["model.json"], &mj); err != nil {
		t.Fatal(err)
	}
	ops := map[string]string{}
	inputs := map[string][]string{}
	for _, n := range mj.Topology.Node {
		ops[n.Name], inputs[n.Name] = n.Op, n.Input
	}
	// The old placeholder is now the scaling of the new input (range 0..1: a Mul by 1/255).
	if ops[InputName] != "Placeholder" || ops["x"] != "Mul" || inputs["x"][0] != InputName {
		t.Fatalf("input: %s %q, x %s %v", InputName, ops[InputName], ops["x"], inputs["x"])
	}
	for _, want := range []struct{ name, op string }{
		{"finetuner/pool", "Mean"}, {"finetuner/standardize/sub", "Sub"}, {"finetuner/standardize/div", "RealDiv"},
		{"finetuner/head/layer0/matmul", "MatMul"}, {"finetuner/head/layer0/gelu/tanh", "Tanh"},
		{"finetuner/head/layer1/bias", "AddV2"}, {OutputName, "Softmax"},
	} {
		if ops[want.name] != want.op {
			t.Errorf("node %s: op %q, want %s", want.name, ops[want.name], want.op)
		}
	}
	if inputs["finetuner/pool"][0] != "feat" || inputs[OutputName][0] != "finetuner/head/layer1/bias" {
		t.Errorf("wiring: pool reads %v, softmax reads %v", inputs["finetuner/pool"], inputs[OutputName])
	}
	// head.bin holds the new constants: scale, pool axes, mean, std, and the two layers; after
	// the backbone's one 4-byte file, in 4-byte shards (head.bin, head2.bin, ...) as TF.js needs.
	want := 4 * (1 + 2 + 3 + 3 + 5*3 + 5 + 2*5 + 2 + 4)
	got := 0
	if len(mj.Manifest) == 2 {
		for i, p := range mj.Manifest[1].Paths {
			name := "head.bin"
			if i > 0 {
				name = "head" + strconv.Itoa(i+1) + ".bin"
			}
			if p != name || len(out[p]) != 4 {
				t.Errorf("head shard %d: %s of %d bytes, want %s of 4", i, p, len(out[p]), name)
			}
			got += len(out[p])
		}
	}
	if got != want {
		t.Errorf("head shards %d bytes, want %d", got, want)
	}
	if len(mj.Manifest) != 2 || mj.Manifest[1].Paths[0] != "head.bin" || !bytes.Equal(out["weights.bin"], tinyBackbone(t)["weights.bin"]) {
		t.Errorf("manifest %+v", mj.Manifest)
	}
	if m := mj.Meta.Finetuner; strings.Join(m.Labels, ",") != "cat,dog" || m.InputSize != 4 || m.Backbone != "tiny" {
		t.Errorf("metadata %+v", m)
	}

	z, err := Zip(out)
	if err != nil {
		t.Fatal(err)
	}
	// Read back with archive/zip, which checks every CRC as a file is read to its end.
	zr, err := zip.NewReader(bytes.NewReader(z), int64(len(z)))
	if err != nil || len(zr.File) != len(out) || zr.File[0].Name != "model.json" {
		t.Fatalf("zip: %v %v", zr, err)
	}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		if err != nil || !bytes.Equal(got, out[f.Name]) || f.Modified.Year() != 2026 {
			t.Errorf("zip entry %s: %d bytes (want %d), %v, modified %v", f.Name, len(got), len(out[f.Name]), err, f.Modified)
		}
	}
	if z2, _ := Zip(out); !bytes.Equal(z, z2) {
		t.Error("the same export zips to different bytes")
	}
}

func TestTFJSErrors(t *testing.T) {
	good := tinyBackbone(t)
	with := func(k string, v []byte) map[string][]byte {
		m := map[string][]byte{}
		for a, b := range good {
			m[a] = b
		}
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	lin := tinyHead(t, head.Arch{}, 3, "tiny")
	for _, c := range []struct {
		files map[string][]byte
		h     *head.Model
		want  string
	}{
		{with("model.json", nil), lin, "no model.json"},
		{with("model.json", []byte("{")), lin, "not JSON"},
		{with("model.json", []byte(`{"modelTopology":{"node":[]}}`)), lin, "no graph nodes"},
		{with("model.json", bytes.Replace(good["model.json"], []byte(`"finetuner"`), []byte(`"other"`), 1)), lin, `no "finetuner" block`},
		{with("weights.bin", nil), lin, `weight file "weights.bin" is missing`},
		{good, tinyHead(t, head.Arch{}, 4, "tiny"), "takes 4-d features"},
		{good, tinyHead(t, head.Arch{}, 3, "centernet"), `trained on "centernet" features`},
		{with("model.json", bytes.Replace(good["model.json"], []byte(`"tap":"feat"`), []byte(`"tap":"nope"`), 1)), lin, `tap "nope" is not a node`},
	} {
		if _, err := TFJS(c.files, c.h); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("error %v, want one saying %q", err, c.want)
		}
	}
}
