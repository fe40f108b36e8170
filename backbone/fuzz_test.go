package backbone

import (
	"math/rand/v2"
	"strings"
	"testing"
)

// FuzzLoadGraphModel feeds arbitrary model.json and weight bytes to the loader: it must return an
// error or a model, never panic, hang or allocate without bound; a model it accepts must run.
func FuzzLoadGraphModel(f *testing.F) {
	mj, files, _ := tinyNet(f, rand.New(rand.NewPCG(3, 3)))
	one := []byte(strings.Replace(string(mj), `"paths":["s1","s2"]`, `"paths":["s1"]`, 1))
	bin := append(append([]byte{}, files["s1"]...), files["s2"]...)
	f.Add(one, bin)
	f.Add(one, bin[:len(bin)/2])
	f.Add([]byte(`{"format":"graph-model","modelTopology":{"node":[{"name":"x","op":"Placeholder"},{"name":"tap","op":"Relu","input":["x"]}]},"weightsManifest":[]}`), []byte{})
	f.Add([]byte(`{"modelTopology":{"node":[{"name":"tap","op":"Squeeze","input":["tap"]}]}}`), []byte{})
	f.Fuzz(func(t *testing.T, mj, bin []byte) {
		info := Info{Tap: "tap", InputSize: 9, InputRange: [2]float32{0, 1}, Pool: "mean"}
		m, err := LoadGraphModel(mj, func(p string) ([]byte, error) {
			if p == "s1" {
				return bin, nil
			}
			return nil, nil
		}, &info)
		if err != nil {
			if m != nil {
				t.Fatal("model and error")
			}
			return
		}
		dst := make([]float32, m.Dim())
		_ = m.Forward(dst, make([]float32, 9*9*3))
		rgba := make([]byte, 4*5*3)
		_ = m.Features(dst, rgba, 5, 3)
	})
}
