package backbone

import (
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/rand/v2"
	"strconv"
	"strings"
	"testing"
	"testing/fstest"
)

// A tiny TF.js graph model built in the test: the same ops, attributes and weight encodings as the
// real backbones (float32, float16 and uint8-quantised weights in two shards), small enough to
// check against a float64 reference written out loop by loop.

type tWeight struct {
	name  string
	shape []int
	f     []float32 // values; stored as dtype
	dtype string    // "float32", "float16", "uint8"
	ints  []int32   // for int32 weights
}

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func ilist(v ...int) map[string]any {
	s := make([]string, len(v))
	for i, x := range v {
		s[i] = strconv.Itoa(x)
	}
	return map[string]any{"list": map[string]any{"i": s}}
}

func convNode(name, op, in, w, b string, stride int, fused ...string) map[string]any {
	fo := make([]string, len(fused))
	for i, f := range fused {
		fo[i] = b64(f)
	}
	inputs := []string{in, w}
	if b != "" {
		inputs = append(inputs, b)
	}
	return map[string]any{"name": name, "op": op, "input": inputs, "attr": map[string]any{
		"strides": ilist(1, stride, stride, 1), "padding": map[string]any{"s": b64("SAME")},
		"data_format": map[string]any{"s": b64("NHWC")}, "dilations": ilist(1, 1, 1, 1),
		"fused_ops": map[string]any{"list": map[string]any{"s": fo}}, "num_args": map[string]any{"i": "1"},
	}}
}

func node(name, op string, in ...string) map[string]any {
	return map[string]any{"name": name, "op": op, "input": in, "attr": map[string]any{}}
}

// f16 rounds a float32 to the nearest float16 (test inputs are in range; ties are irrelevant here).
func f16(v float32) uint16 {
	bits := math.Float32bits(v)
	sign := uint16(bits>>16) & 0x8000
	exp := int((bits>>23)&0xff) - 127 + 15
	man := bits & 0x7fffff
	if v == 0 {
		return sign
	}
	if exp <= 0 {
		return sign // flush tiny values; tests use normal numbers
	}
	h := sign | uint16(exp)<<10 | uint16(man>>13)
	if man&0x1000 != 0 {
		h++
	}
	return h
}

// buildModel encodes nodes and weights as model.json plus two weight shards.
func buildModel(t testing.TB, nodes []map[string]any, ws []tWeight) ([]byte, map[string][]byte) {
	var specs []map[string]any
	var bin []byte
	for i := range ws {
		w := &ws[i]
		spec := map[string]any{"name": w.name, "shape": w.shape, "dtype": "float32"}
		switch {
		case w.ints != nil:
			spec["dtype"] = "int32"
			for _, v := range w.ints {
				bin = binary.LittleEndian.AppendUint32(bin, uint32(v))
			}
		case w.dtype == "float16":
			spec["quantization"] = map[string]any{"dtype": "float16", "original_dtype": "float32"}
			for k, v := range w.f {
				h := f16(v)
				bin = binary.LittleEndian.AppendUint16(bin, h)
				w.f[k] = float16to32(h) // what the model really holds
			}
		case w.dtype == "uint8":
			lo, hi := w.f[0], w.f[0]
			for _, v := range w.f {
				lo, hi = min(lo, v), max(hi, v)
			}
			scale := (hi - lo) / 255
			spec["quantization"] = map[string]any{"dtype": "uint8", "min": lo, "scale": scale}
			for k, v := range w.f {
				q := uint8(math.Round(float64((v - lo) / scale)))
				bin = append(bin, q)
				w.f[k] = lo + scale*float32(q)
			}
		default:
			for _, v := range w.f {
				bin = binary.LittleEndian.AppendUint32(bin, math.Float32bits(v))
			}
		}
		specs = append(specs, spec)
	}
	mj, err := json.Marshal(map[string]any{
		"format": "graph-model", "modelTopology": map[string]any{"node": nodes},
		"weightsManifest": []any{map[string]any{"paths": []string{"s1", "s2"}, "weights": specs}},
	})
	if err != nil {
		t.Fatal(err)
	}
	h := len(bin) / 2
	return mj, map[string][]byte{"model.json": mj, "s1": bin[:h], "s2": bin[h:]}
}

// tinyNet is input (S,S,3) → conv3x3/2 +bias, Relu6 (float32 weights) → depthwise 3x3/1 + bias
// (float16) → hard-swish spelled out as TF does → 1x1 conv + bias (uint8) → Relu → squeeze-excite
// style Mul by its own spatial Mean → tap, mean-pooled: a 5-d feature.
func tinyNet(t testing.TB, r *rand.Rand) ([]byte, map[string][]byte, []tWeight) {
	rnd := func(n int, s float32) []float32 {
		v := make([]float32, n)
		for i := range v {
			v[i] = s * (2*r.Float32() - 1)
		}
		return v
	}
	ws := []tWeight{
		{name: "c1/w", shape: []int{3, 3, 3, 4}, f: rnd(108, 0.5), dtype: "float32"},
		{name: "c1/b", shape: []int{4}, f: rnd(4, 0.5), dtype: "float32"},
		{name: "dw/w", shape: []int{3, 3, 4, 1}, f: rnd(36, 0.7), dtype: "float16"},
		{name: "dw/b", shape: []int{4}, f: rnd(4, 0.5), dtype: "float16"},
		{name: "hs/k", shape: []int{}, f: []float32{1.0 / 6}, dtype: "float16"},
		{name: "hs/three", shape: []int{}, f: []float32{3}, dtype: "float32"},
		{name: "c2/w", shape: []int{1, 1, 4, 5}, f: rnd(20, 0.8), dtype: "uint8"},
		{name: "c2/b", shape: []int{5}, f: rnd(5, 0.3), dtype: "uint8"},
		{name: "axes", shape: []int{2}, ints: []int32{1, 2}},
		{name: "two", shape: []int{}, f: []float32{2}, dtype: "float32"},
		{name: "one", shape: []int{}, f: []float32{1}, dtype: "float32"},
	}
	nodes := []map[string]any{
		{"name": "x", "op": "Placeholder", "attr": map[string]any{"shape": map[string]any{"shape": map[string]any{"dim": []any{
			map[string]any{"size": "-1"}, map[string]any{"size": "512"}, map[string]any{"size": "512"}, map[string]any{"size": "3"}}}}}},
		node("c1/w", "Const"), node("c1/b", "Const"), node("dw/w", "Const"), node("dw/b", "Const"),
		node("hs/k", "Const"), node("hs/three", "Const"), node("c2/w", "Const"), node("c2/b", "Const"),
		node("axes", "Const"), node("two", "Const"), node("one", "Const"),
		node("twox", "Mul", "two", "x"),
		node("scaled", "Sub", "twox", "one"),
		convNode("c1", "_FusedConv2D", "scaled", "c1/w", "c1/b", 2, "BiasAdd", "Relu6"),
		convNode("dw", "FusedDepthwiseConv2dNative", "c1", "dw/w", "dw/b", 1, "BiasAdd"),
		node("hs/mul", "Mul", "hs/k", "dw"),
		node("hs/add", "AddV2", "dw", "hs/three"),
		node("hs/relu6", "Relu6", "hs/add"),
		node("hs/out", "Mul", "hs/mul", "hs/relu6"),
		convNode("c2", "_FusedConv2D", "hs/out:0", "c2/w", "c2/b", 1, "BiasAdd", "Relu"),
		map[string]any{"name": "se/mean", "op": "Mean", "input": []string{"c2", "axes"}, "attr": map[string]any{"keep_dims": map[string]any{"b": true}}},
		node("se/mul", "Mul", "se/mean", "c2"),
		node("tap", "Identity", "se/mul", "^c1"),
		node("unused", "Erf", "tap"),
	}
	mj, files := buildModel(t, nodes, ws)
	return mj, files, ws
}

var tinyInfo = Info{ID: "tiny", Tap: "tap", InputSize: 9, InputRange: [2]float32{0, 1}, Pool: "mean"}

// tinyRef computes tinyNet's features in float64, one formula per op.
func tinyRef(x []float32, S int, ws []tWeight) []float64 {
	w := map[string][]float32{}
	for _, v := range ws {
		w[v.name] = v.f
	}
	in := make([]float64, len(x))
	for i, v := range x {
		in[i] = 2*float64(v) - 1
	}
	conv := func(x []float64, H, C, K, stride int, f []float32, OC int, depthwise bool) ([]float64, int) {
		OH := (H + stride - 1) / stride
		pad := max((OH-1)*stride+K-H, 0) / 2
		out := make([]float64, OH*OH*OC)
		for oh := 0; oh < OH; oh++ {
			for ow := 0; ow < OH; ow++ {
				for o := 0; o < OC; o++ {
					var s float64
					for kh := 0; kh < K; kh++ {
						for kw := 0; kw < K; kw++ {
							ih, iw := oh*stride+kh-pad, ow*stride+kw-pad
							if ih < 0 || ih >= H || iw < 0 || iw >= H {
								continue
							}
							if depthwise {
								s += x[(ih*H+iw)*C+o] * float64(f[(kh*K+kw)*C+o])
								continue
							}
							for c := 0; c < C; c++ {
								s += x[(ih*H+iw)*C+c] * float64(f[((kh*K+kw)*C+c)*OC+o])
							}
						}
					}
					out[(oh*OH+ow)*OC+o] = s
				}
			}
		}
		return out, OH
	}
	a, H := conv(in, S, 3, 3, 2, w["c1/w"], 4, false)
	for i := range a {
		a[i] = math.Min(math.Max(a[i]+float64(w["c1/b"][i%4]), 0), 6)
	}
	d, _ := conv(a, H, 4, 3, 1, w["dw/w"], 4, true)
	k := float64(w["hs/k"][0])
	for i := range d {
		v := d[i] + float64(w["dw/b"][i%4])
		d[i] = v * k * math.Min(math.Max(v+3, 0), 6)
	}
	c, _ := conv(d, H, 4, 1, 1, w["c2/w"], 5, false)
	mean := make([]float64, 5)
	for i := range c {
		c[i] = math.Max(c[i]+float64(w["c2/b"][i%5]), 0)
		mean[i%5] += c[i] / float64(H*H)
	}
	feat := make([]float64, 5)
	for i := range c {
		feat[i%5] += c[i] * mean[i%5] / float64(H*H)
	}
	return feat
}

func TestTinyNet(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	_, files, ws := tinyNet(t, r)
	info := tinyInfo
	m, err := LoadGraphModel(files["model.json"], func(p string) ([]byte, error) { return files[p], nil }, &info)
	if err != nil {
		t.Fatal(err)
	}
	if m.Dim() != 5 {
		t.Fatalf("Dim = %d, want 5", m.Dim())
	}
	// Folding turns 2·x−1 into steps on x only; the hard-swish is one step; Identity is free.
	kinds := map[opKind]int{}
	for _, s := range m.g.steps {
		kinds[s.kind]++
	}
	if kinds[opHardSwish] != 1 || kinds[opConv] != 2 || kinds[opDepthwise] != 1 || kinds[opMean] != 1 {
		t.Errorf("compiled steps %v", kinds)
	}
	S := info.InputSize
	for trial := 0; trial < 3; trial++ {
		x := make([]float32, S*S*3)
		for i := range x {
			x[i] = r.Float32()
		}
		got := make([]float32, 5)
		if err := m.Forward(got, x); err != nil {
			t.Fatal(err)
		}
		want := tinyRef(x, S, ws)
		for i := range want {
			if math.Abs(float64(got[i])-want[i]) > 1e-5*(1+math.Abs(want[i])) {
				t.Fatalf("trial %d feature %d: got %g, want %g", trial, i, got[i], want[i])
			}
		}
		// A clone shares weights and gives the same numbers with its own buffers.
		again := make([]float32, 5)
		if err := m.Clone().Forward(again, x); err != nil || again[0] != got[0] || again[4] != got[4] {
			t.Fatalf("clone: %v %v vs %v", err, again, got)
		}
	}
}

func TestLoadErrors(t *testing.T) {
	r := rand.New(rand.NewPCG(2, 2))
	mj, files, _ := tinyNet(t, r)
	shard := func(p string) ([]byte, error) { return files[p], nil }
	load := func(mj []byte, info Info, shard func(string) ([]byte, error)) error {
		_, err := LoadGraphModel(mj, shard, &info)
		return err
	}
	replace := func(old, new string) []byte { return []byte(strings.Replace(string(mj), old, new, 1)) }
	withTap := func(tap string) Info { i := tinyInfo; i.Tap = tap; return i }
	for _, tc := range []struct {
		name string
		err  error
		want string
	}{
		{"unknown op", load(mj, withTap("unused"), shard), `node "unused" (Erf): unsupported op "Erf"`},
		{"missing tap", load(mj, withTap("nope"), shard), `tap node "nope" is not in the graph`},
		{"constant tap", load(mj, withTap("one"), shard), "does not depend on any Placeholder"},
		{"not json", load([]byte("{"), tinyInfo, shard), "not valid JSON"},
		{"layers model", load([]byte(`{"format":"layers-model","modelTopology":{}}`), tinyInfo, shard), `format "layers-model"`},
		{"truncated weights", load(mj, tinyInfo, func(p string) ([]byte, error) { return files[p][:len(files[p])-1], nil }), "truncated"},
		{"extra weight bytes", load(mj, tinyInfo, func(p string) ([]byte, error) { return append(files[p], 0), nil }), "the files hold"},
		{"missing shard", load(mj, tinyInfo, func(p string) ([]byte, error) { return nil, &json.SyntaxError{} }), "weights group 0"},
		{"cycle", load(replace(`"input":["two","x"]`, `"input":["two","tap"]`), tinyInfo, shard), "cycle"},
		{"dangling input", load(replace(`"input":["two","x"]`, `"input":["two","y"]`), tinyInfo, shard), `input "y" is not in the graph`},
		{"second output", load(replace(`"hs/out:0"`, `"hs/out:1"`), tinyInfo, shard), "only the first output"},
		{"fused prelu", load(replace(b64("Relu6"), b64("Prelu")), tinyInfo, shard), "fused ops [BiasAdd Prelu] not supported"},
		{"padding", load(replace(b64("SAME"), b64("EXPLICIT")), tinyInfo, shard), `padding "EXPLICIT"`},
		{"nchw", load(replace(b64("NHWC"), b64("NCHW")), tinyInfo, shard), `data_format "NCHW"`},
		{"quant dtype", load(replace(`"dtype":"uint8"`, `"dtype":"int4"`), tinyInfo, shard), `unsupported stored dtype "int4"`},
		{"wrong dim", load(mj, func() Info { i := tinyInfo; i.Dim = 7; return i }(), shard), "says dim 7 but"},
		{"input size", load(mj, func() Info { i := tinyInfo; i.InputSize = 2; return i }(), shard), "input size 2"},
		{"range", load(mj, func() Info { i := tinyInfo; i.InputRange = [2]float32{1, 1}; return i }(), shard), "not an interval"},
		{"no info", func() error { _, err := LoadGraphModel(mj, shard, nil); return err }(), `"finetuner" block`},
	} {
		if tc.err == nil || !strings.Contains(tc.err.Error(), tc.want) {
			t.Errorf("%s: got error %v, want one containing %q", tc.name, tc.err, tc.want)
		}
	}
}

func TestFloat16(t *testing.T) {
	for _, tc := range []struct {
		h    uint16
		want float32
	}{
		{0x3c00, 1}, {0xc000, -2}, {0x3555, 0.33325195}, {0x7bff, 65504}, {0x0001, 5.9604645e-08},
		{0x03ff, 6.097555e-05}, {0x8000, float32(math.Copysign(0, -1))}, {0x7c00, float32(math.Inf(1))},
		{0x3155, 0.16662598},
	} {
		if got := float16to32(tc.h); got != tc.want || math.Signbit(float64(got)) != math.Signbit(float64(tc.want)) {
			t.Errorf("float16to32(%#04x) = %g, want %g", tc.h, got, tc.want)
		}
	}
	if !math.IsNaN(float64(float16to32(0x7e00))) {
		t.Errorf("0x7e00 is not NaN")
	}
}

// TestBroadcastOrder checks binary ops whose full-size operand comes second (the runtime swaps
// operands for its fast paths and must still compute c − x, not x − c) and a general broadcast.
func TestBroadcastOrder(t *testing.T) {
	ws := []tWeight{
		{name: "c", shape: []int{3}, f: []float32{1, 2, 4}, dtype: "float32"},
		{name: "col", shape: []int{1, 8, 1, 1}, f: []float32{1, 2, 3, 4, 5, 6, 7, 8}, dtype: "float32"},
	}
	nodes := []map[string]any{
		{"name": "x", "op": "Placeholder", "attr": map[string]any{}},
		node("c", "Const"), node("col", "Const"),
		node("d", "Sub", "c", "x"),
		node("tap", "Mul", "col", "d"),
	}
	mj, files := buildModel(t, nodes, ws)
	info := Info{Tap: "tap", InputSize: 8, InputRange: [2]float32{0, 1}}
	m, err := LoadGraphModel(mj, func(p string) ([]byte, error) { return files[p], nil }, &info)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 8*8*3)
	for i := range x {
		x[i] = float32(i) / 10
	}
	got := make([]float32, 3)
	if err := m.Forward(got, x); err != nil {
		t.Fatal(err)
	}
	for c := 0; c < 3; c++ {
		var want float64
		for h := 0; h < 8; h++ {
			for w := 0; w < 8; w++ {
				want += float64(h+1) * (float64(ws[0].f[c]) - float64(x[(h*8+w)*3+c]))
			}
		}
		want /= 64
		if math.Abs(float64(got[c])-want) > 1e-5 {
			t.Errorf("channel %d: got %g, want %g", c, got[c], want)
		}
	}
}

// TestNoAllocs: after the first image, Forward and Features allocate nothing (every buffer is the
// Model's own and reused).
func TestNoAllocs(t *testing.T) {
	_, files, _ := tinyNet(t, rand.New(rand.NewPCG(6, 6)))
	info := tinyInfo
	m, err := LoadGraphModel(files["model.json"], func(p string) ([]byte, error) { return files[p], nil }, &info)
	if err != nil {
		t.Fatal(err)
	}
	x := make([]float32, 9*9*3)
	rgba := make([]byte, 4*40*30)
	dst := make([]float32, m.Dim())
	m.Features(dst, rgba, 40, 30)
	if n := testing.AllocsPerRun(10, func() { m.Forward(dst, x) }); n != 0 {
		t.Errorf("Forward: %v allocations per image", n)
	}
	if n := testing.AllocsPerRun(10, func() { m.Features(dst, rgba, 40, 30) }); n != 0 {
		t.Errorf("Features: %v allocations per image", n)
	}
}

func TestLoadFS(t *testing.T) {
	mj, files, _ := tinyNet(t, rand.New(rand.NewPCG(7, 7)))
	var withInfo map[string]any
	json.Unmarshal(mj, &withInfo)
	withInfo["finetuner"] = tinyInfo
	mj2, _ := json.Marshal(withInfo)
	fsys := fstest.MapFS{
		"m/model.json": {Data: mj2}, "m/s1": {Data: files["s1"]}, "m/s2": {Data: files["s2"]},
		"evil/model.json": {Data: []byte(strings.Replace(string(mj2), `"paths":["s1","s2"]`, `"paths":["../m/s1","s2"]`, 1))},
	}
	m, err := Load(fsys, "m")
	if err != nil {
		t.Fatal(err)
	}
	if m.Info().ID != "tiny" || m.Dim() != 5 {
		t.Errorf("info %+v", m.Info())
	}
	if _, err := Load(fsys, "evil"); err == nil || !strings.Contains(err.Error(), "not a plain relative path") {
		t.Errorf("weight path outside the model directory: %v", err)
	}
	if _, err := Load(fsys, "none"); err == nil {
		t.Error("missing directory loaded")
	}
	f2 := map[string][]byte{"model.json": mj2, "s1": files["s1"]}
	if _, err := LoadFiles(f2); err == nil || !strings.Contains(err.Error(), `"s2" is missing`) {
		t.Errorf("LoadFiles without s2: %v", err)
	}
	f2["s2"] = files["s2"]
	if _, err := LoadFiles(f2); err != nil {
		t.Error(err)
	}
}

func TestReadManifest(t *testing.T) {
	fsys := fstest.MapFS{"manifest.json": {Data: []byte(`{"format":"finetuner-backbones/1","backbones":[{"id":"a","dim":480},{"id":"b","dim":1792}]}`)}}
	infos, err := ReadManifest(fsys)
	if err != nil || len(infos) != 2 || infos[0].ID != "a" || infos[1].Dim != 1792 {
		t.Fatalf("%v %+v", err, infos)
	}
	for _, bad := range []string{`{`, `{"backbones":[]}`} {
		if _, err := ReadManifest(fstest.MapFS{"manifest.json": {Data: []byte(bad)}}); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	if _, err := ReadManifest(fstest.MapFS{}); err == nil || !strings.Contains(err.Error(), "build.sh models") {
		t.Errorf("missing manifest: %v", err)
	}
}

// TestNodeDefJSON reads a node the way TF writes it: int64s as decimal strings or numbers,
// strings as base64 bytes, and a malformed integer as an error that names it.
func TestNodeDefJSON(t *testing.T) {
	var n NodeDef
	src := `{"name":"c","op":"Conv2D","input":["x","w:0"],"attr":{"strides":{"list":{"i":["1","2",2,"1"]}},"padding":{"s":"` + b64("SAME") + `"},"keep_dims":{"b":true},"shape":{"shape":{"dim":[{"size":"-1"},{"size":224}]}}}}`
	if err := json.Unmarshal([]byte(src), &n); err != nil {
		t.Fatal(err)
	}
	if got := n.Ints("strides"); len(got) != 4 || got[1] != 2 || got[2] != 2 {
		t.Errorf("Ints(strides) = %v, want [1 2 2 1]", got)
	}
	if n.Ints("dilations") != nil {
		t.Error("Ints of a missing attribute is not nil")
	}
	if string(n.Attr["padding"].S) != "SAME" || !n.Attr["keep_dims"].B || n.Attr["shape"].Shape.Dim[0].Size != -1 || n.Attr["shape"].Shape.Dim[1].Size != 224 {
		t.Errorf("attributes read as %+v", n.Attr)
	}
	err := json.Unmarshal([]byte(`{"attr":{"strides":{"list":{"i":["1","x"]}}}}`), &n)
	if err == nil || !strings.Contains(err.Error(), `not an integer: "x"`) {
		t.Errorf("a malformed integer gave %v", err)
	}
}
