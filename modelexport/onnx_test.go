package modelexport

import (
	"bytes"
	"encoding/binary"
	"strings"
	"testing"

	"finetuner/head"
)

// field is one protobuf field as read back: a varint or the bytes of a length-delimited value.
type field struct {
	num int
	v   uint64
	b   []byte
}

// fields reads a protobuf message: the reader the ONNX test checks our writer with.
func fields(t *testing.T, b []byte) []field {
	t.Helper()
	var out []field
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			t.Fatalf("bad key at %d bytes from the end", len(b))
		}
		b = b[n:]
		f := field{num: int(key >> 3)}
		switch key & 7 {
		case 0:
			f.v, n = binary.Uvarint(b)
			b = b[n:]
		case 5:
			f.v = uint64(binary.LittleEndian.Uint32(b))
			b = b[4:]
		case 2:
			l, n := binary.Uvarint(b)
			f.b = b[n : n+int(l)]
			b = b[n+int(l):]
		default:
			t.Fatalf("wire type %d", key&7)
		}
		out = append(out, f)
	}
	return out
}

func get(fs []field, num int) []field {
	var out []field
	for _, f := range fs {
		if f.num == num {
			out = append(out, f)
		}
	}
	return out
}

func TestONNXModel(t *testing.T) {
	h := tinyHead(t, head.Arch{Hidden: []int{5}}, 3, "tiny")
	b, err := ONNX(tinyBackbone(t), h)
	if err != nil {
		t.Fatal(err)
	}
	m := fields(t, b)
	if v := get(m, modelIRVersion); len(v) != 1 || v[0].v != onnxIR {
		t.Fatalf("ir_version %v", v)
	}
	opset := fields(t, get(m, modelOpset)[0].b)
	if v := get(opset, opsetVersion); len(v) != 1 || v[0].v != onnxOpset {
		t.Fatalf("opset %v", opset)
	}
	var meta []string
	for _, e := range get(m, modelMetadata) {
		kv := fields(t, e.b)
		meta = append(meta, string(get(kv, entryKey)[0].b)+"="+string(get(kv, entryValue)[0].b))
	}
	if !strings.Contains(strings.Join(meta, "\n"), `labels=["cat","dog"]`) {
		t.Errorf("metadata %q", meta)
	}
	g := fields(t, get(m, modelGraph)[0].b)
	name := func(vi []field) string { return string(get(fields(t, vi[0].b), valueName)[0].b) }
	if in, out := name(get(g, graphInput)), name(get(g, graphOutput)); in != InputName || out != OutputName {
		t.Errorf("graph input %q, output %q", in, out)
	}
	var ops []string
	made := map[string]bool{InputName: true}
	for _, init := range get(g, graphInit) {
		made[string(get(fields(t, init.b), tensorName)[0].b)] = true
	}
	for _, n := range get(g, graphNode) {
		nf := fields(t, n.b)
		// Topological order: every input exists before the node that reads it.
		for _, in := range get(nf, nodeInput) {
			if !made[string(in.b)] {
				t.Errorf("node %s reads %q before it is made", get(nf, nodeOp)[0].b, in.b)
			}
		}
		made[string(get(nf, nodeOutput)[0].b)] = true
		ops = append(ops, string(get(nf, nodeOp)[0].b))
	}
	want := "Mul Transpose Mul ReduceMean Sub Div Gemm Relu Gemm Softmax"
	if got := strings.Join(ops, " "); got != want {
		t.Errorf("ops %q, want %q", got, want)
	}
	if b2, _ := ONNX(tinyBackbone(t), h); !bytes.Equal(b, b2) {
		t.Error("the same export gives different bytes")
	}
}

func TestONNXErrors(t *testing.T) {
	files := tinyBackbone(t)
	files["model.json"] = bytes.Replace(files["model.json"], []byte(`"op":"Mul"`), []byte(`"op":"Tanh"`), 1)
	if _, err := ONNX(files, tinyHead(t, head.Arch{}, 3, "tiny")); err == nil || !strings.Contains(err.Error(), `node "feat" (Tanh): op not supported`) {
		t.Errorf("unsupported op: %v", err)
	}
	if _, err := ONNX(tinyBackbone(t), tinyHead(t, head.Arch{}, 5, "tiny")); err == nil || !strings.Contains(err.Error(), "takes 5-d features") {
		t.Errorf("wrong dimension: %v", err)
	}
}
