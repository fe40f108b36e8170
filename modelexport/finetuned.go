package modelexport

import (
	"fmt"
	"strings"

	"finetuner/backbone"
	"finetuner/head"
)

// override is one backbone constant that a fine-tuned head replaces, in the graph's own layout.
type override struct {
	Shape []int
	F     []float32
}

// finetuned returns the constants a fine-tuned head (head file format 2) replaces, keyed by the
// constant's node name: a convolution's filter, back in TF's (KH,KW,C,OC) from the head's
// (OC,KH,KW,C), a depthwise filter (KH,KW,C,1) and a bias as they are. inputs gives a
// convolution node's inputs (the filter second, the bias third). A head on frozen features
// replaces nothing.
func finetuned(h *head.Model, inputs func(node string) ([]string, bool)) (map[string]override, error) {
	out := map[string]override{}
	if h.Backbone == nil {
		return out, nil
	}
	for _, name := range h.Backbone.Names {
		rest, _ := strings.CutPrefix(name, "backbone.")
		i := strings.LastIndexByte(rest, '.')
		if i < 0 {
			return nil, fmt.Errorf("export: the head's tensor %q is not named backbone.<node>.weight or .bias", name)
		}
		node, kind := rest[:i], rest[i+1:]
		in, ok := inputs(node)
		k := map[string]int{"weight": 1, "bias": 2}[kind]
		if !ok || k == 0 || len(in) <= k {
			return nil, fmt.Errorf("export: the head changes %q, which is not a convolution of this backbone (was it fine-tuned on another one?)", name)
		}
		c, _, _ := strings.Cut(in[k], ":")
		v, sh := h.Backbone.Tensors[name], h.Backbone.Shapes[name]
		switch {
		case kind == "bias":
			out[c] = override{Shape: []int{len(v)}, F: v}
		case len(sh) == 3: // depthwise (KH,KW,C)
			out[c] = override{Shape: []int{sh[0], sh[1], sh[2], 1}, F: v}
		case len(sh) == 4: // (OC,KH,KW,C) → (KH,KW,C,OC)
			OC, K := sh[0], sh[1]*sh[2]*sh[3]
			f := make([]float32, len(v))
			for o := 0; o < OC; o++ {
				for j := 0; j < K; j++ {
					f[j*OC+o] = v[o*K+j]
				}
			}
			out[c] = override{Shape: []int{sh[1], sh[2], sh[3], OC}, F: f}
		default:
			return nil, fmt.Errorf("export: the head's tensor %q has shape %v; want (OC,KH,KW,C), (KH,KW,C) or (OC)", name, sh)
		}
		if n := mul(out[c].Shape); n != len(v) {
			return nil, fmt.Errorf("export: the head's tensor %q has %d values for shape %v", name, len(v), sh)
		}
	}
	return out, nil
}

func mul(sh []int) int {
	n := 1
	for _, d := range sh {
		n *= d
	}
	return n
}

// headTap returns info with the tap moved to the head's when the head reads a mid-layer tap
// (a frozen head whose Meta.Tap is another node than the backbone's own): that map averaged
// over space, as the trainer computes it.
func headTap(info backbone.Info, h *head.Model) backbone.Info {
	if h.Backbone == nil && h.Meta.Tap != "" && h.Meta.Tap != info.Tap {
		info.Tap, info.Pool = h.Meta.Tap, "mean"
	}
	return info
}
