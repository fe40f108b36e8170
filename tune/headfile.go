package tune

import (
	"fmt"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/kernels"
)

// HeadModel returns the student as a head file's Model: its linear head (W, B, Mean, Std) and,
// when it has a Top, the Top's trained tensors as the fine-tuned backbone part (format_version
// 2), recorded as the blocks named blocks above the node cut. info is the teacher's.
func (s *Student) HeadModel(info backbone.Info, labels []string, blocks []string, cut string) (*head.Model, error) {
	if len(labels) != s.C {
		return nil, fmt.Errorf("tune: %d labels for a student of %d classes", len(labels), s.C)
	}
	rng := kernels.NewRNG(1)
	m, err := head.NewModel(head.Arch{}, s.D, labels, &rng)
	if err != nil {
		return nil, err
	}
	copy(m.Params, s.W)
	copy(m.Params[len(s.W):], s.B)
	m.Mean, m.Std = append([]float32(nil), s.Mean...), append([]float32(nil), s.Std...)
	m.Meta = head.Meta{BackboneID: info.ID, Tap: info.Tap, Created: time.Now().UTC().Format(time.RFC3339)}
	if s.Top == nil {
		return m, nil
	}
	fb := &head.Finetuned{Blocks: blocks, Cut: cut, Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	for _, p := range s.Top.Params() {
		fb.Names = append(fb.Names, p.Name())
		fb.Tensors[p.Name()], fb.Shapes[p.Name()] = append([]float32(nil), p.W...), p.Shape
	}
	m.Backbone = fb
	return m, nil
}
