package head

import (
	"fmt"
	"strings"
	"testing"

	"github.com/nlpodyssey/safetensors"
)

// withBackbone returns a linear head carrying two fine-tuned backbone tensors.
func withBackbone(t *testing.T) (*Model, []byte) {
	t.Helper()
	m, _ := trainedHead(t, Arch{})
	m.Backbone = &Finetuned{Blocks: []string{"expanded_conv_14"}, Cut: "net/expanded_conv_13/add",
		Names:   []string{"backbone.net/conv.bias", "backbone.net/conv.weight"},
		Tensors: map[string][]float32{"backbone.net/conv.weight": {1, 2, 3, 4, 5, 6}, "backbone.net/conv.bias": {0.5, -0.5}},
		Shapes:  map[string][]int{"backbone.net/conv.weight": {2, 1, 1, 3}, "backbone.net/conv.bias": {2}}}
	b, err := m.MarshalSafetensors()
	if err != nil {
		t.Fatal(err)
	}
	return m, b
}

func TestHeadFileFinetuned(t *testing.T) {
	m, b := withBackbone(t)
	got, err := ReadModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Backbone == nil || got.Backbone.Cut != m.Backbone.Cut || fmt.Sprint(got.Backbone.Blocks) != fmt.Sprint(m.Backbone.Blocks) ||
		fmt.Sprint(got.Backbone.Names) != fmt.Sprint(m.Backbone.Names) {
		t.Fatalf("backbone part: got %+v", got.Backbone)
	}
	for _, n := range m.Backbone.Names {
		if fmt.Sprint(got.Backbone.Tensors[n]) != fmt.Sprint(m.Backbone.Tensors[n]) || fmt.Sprint(got.Backbone.Shapes[n]) != fmt.Sprint(m.Backbone.Shapes[n]) {
			t.Fatalf("%s: got %v %v", n, got.Backbone.Tensors[n], got.Backbone.Shapes[n])
		}
	}
	if fmt.Sprint(got.Params) != fmt.Sprint(m.Params) {
		t.Fatal("head weights changed in the round trip")
	}
	_, md, _ := safetensors.ReadMetadata(b)
	if v := md.Metadata()["format_version"]; v != "2" {
		t.Fatalf("format_version %q, want 2 for a fine-tuned head", v)
	}
	plain, _ := trainedHead(t, Arch{})
	pb, _ := plain.MarshalSafetensors()
	_, md, _ = safetensors.ReadMetadata(pb)
	if v := md.Metadata()["format_version"]; v != "1" {
		t.Fatalf("format_version %q, want 1 for a head on frozen features (older apps read it)", v)
	}

	cases := map[string][]byte{
		"cannot hold": rewrite(t, b, func(meta map[string]string, _ map[string]safetensors.TensorView) { meta["format_version"] = "1" }),
		"no backbone.* tensors": rewrite(t, b, func(_ map[string]string, ts map[string]safetensors.TensorView) {
			delete(ts, "backbone.net/conv.weight")
			delete(ts, "backbone.net/conv.bias")
		}),
		"naming the blocks": rewrite(t, b, func(meta map[string]string, _ map[string]safetensors.TensorView) { meta["finetune"] = `{"blocks":[]}` }),
		"unexpected tensor": rewrite(t, b, func(meta map[string]string, _ map[string]safetensors.TensorView) { delete(meta, "finetune") }),
	}
	for want, file := range cases {
		_, err := ReadModel(file)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got error %v", want, err)
		}
	}
}
