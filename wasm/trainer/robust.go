//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"syscall/js"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/tune"
	"finetuner/wasm/jsval"
)

// The Robustness check panel's entry points (js/robust.js): its own copy of the backbone at the
// panel's input size, the photos as pixels, three students (the frozen deep-layer probe, the last
// blocks fine-tuned, and the same with the neuron-distance defence) and the mimicry attack. Kept
// apart from the app's backbone and head so the panel never disturbs a training in progress.

type robustState struct {
	app      *app
	m        *backbone.Model
	cut      string
	blocks   []string
	pix      [][]float32
	y        []int32
	labels   []string
	train    []int32
	val      []int32
	deepF    [][]float32
	acts     [][]float32
	below    *backbone.Section
	tap, cr  *tune.Attack
	probe    *tune.Student
	ft, def  *tune.Student
	accuracy map[string]float64
}

func (a *app) registerRobust(api js.Value) {
	r := &robustState{app: a}
	for name, fn := range map[string]func(args []js.Value) (any, error){
		"robustSetup":  r.setup,
		"robustAdd":    r.add,
		"robustTrain":  r.trainStudents,
		"robustAttack": r.attack,
	} {
		api.Set(name, entry(name, fn))
	}
}

// robustSetup({files, size, blocks}) loads the backbone from its files (as loadBackbone) at input
// size×size and names the blocks that will be fine-tuned.
func (r *robustState) setup(args []js.Value) (any, error) {
	o, err := object(args, "robustSetup({files, size, blocks})")
	if err != nil {
		return nil, err
	}
	size, err := jsval.Int(o.Get("size"), "size", 32, 1024)
	if err != nil {
		return nil, err
	}
	blocks, err := jsval.Int(o.Get("blocks"), "blocks", 1, 64)
	if err != nil {
		return nil, err
	}
	files, err := fileBytes(o.Get("files"))
	if err != nil {
		return nil, err
	}
	m, err := backbone.LoadFiles(files)
	if err != nil {
		return nil, err
	}
	if size != m.Info().InputSize {
		info := m.Info()
		info.InputSize, info.Dim = size, 0
		if m, err = backbone.LoadGraphModel(files["model.json"], func(p string) ([]byte, error) {
			b, ok := files[p]
			if !ok {
				return nil, fmt.Errorf("weight file %q is missing", p)
			}
			return b, nil
		}, &info); err != nil {
			return nil, err
		}
	}
	cut, names, err := m.FinetuneCut(blocks)
	if err != nil {
		return nil, err
	}
	*r = robustState{app: r.app, m: m, cut: cut, blocks: names}
	bl := make([]any, len(names))
	for i, n := range names {
		bl[i] = n
	}
	return map[string]any{"cut": cut, "blocks": bl, "inputSize": size}, nil
}

// robustAdd({rgba, width, height, label}) adds one photo of class label (an index).
func (r *robustState) add(args []js.Value) (any, error) {
	if r.m == nil {
		return nil, errors.New("call robustSetup first")
	}
	o, rgba, w, h, err := r.app.image(args, "robustAdd({rgba, width, height, label})")
	if err != nil {
		return nil, err
	}
	label, err := jsval.Int(o.Get("label"), "label", 0, 9999)
	if err != nil {
		return nil, err
	}
	var pre []float32
	if err := r.m.Preprocess(&pre, rgba, w, h, backbone.View{}); err != nil {
		return nil, err
	}
	rg := r.m.Info().InputRange
	p := make([]float32, len(pre))
	for i, v := range pre {
		p[i] = (v - rg[0]) / (rg[1] - rg[0])
	}
	r.pix = append(r.pix, p)
	r.y = append(r.y, int32(label))
	return len(r.pix), nil
}

func (r *robustState) input(p []float32) []float32 {
	rg := r.m.Info().InputRange
	z := make([]float32, len(p))
	for i, v := range p {
		z[i] = rg[0] + (rg[1]-rg[0])*v
	}
	return z
}

// robustTrain({labels, epochs}, progress) splits the photos (70/30, stratified, seed 1), trains the
// three students and returns their validation accuracies and the validation rows (sources for
// the attack). progress(text) reports each stage.
func (r *robustState) trainStudents(args []js.Value) (any, error) {
	if r.m == nil || len(r.pix) == 0 {
		return nil, errors.New("add photos first")
	}
	o, err := object(args, "robustTrain({labels, epochs}, progress)")
	if err != nil {
		return nil, err
	}
	if len(args) != 2 || args[1].Type() != js.TypeFunction || o.Get("labels").Type() != js.TypeObject {
		return nil, errors.New("robustTrain({labels, epochs}, progress) needs a list of labels and a progress function")
	}
	epochs, err := jsval.Int(o.Get("epochs"), "epochs", 1, 1000)
	if err != nil {
		return nil, err
	}
	r.labels = nil
	for i := 0; i < o.Get("labels").Length(); i++ {
		r.labels = append(r.labels, o.Get("labels").Index(i).String())
	}
	C := len(r.labels)
	if C < 2 {
		return nil, errors.New("need at least 2 classes")
	}
	for _, v := range r.y {
		if int(v) >= C {
			return nil, fmt.Errorf("a photo has label %d but there are %d classes", v, C)
		}
	}
	say := func(s string) { args[1].Invoke(s) }
	r.train, r.val = head.Split(r.y, C, 0.3, 1)
	say(fmt.Sprintf("caching the features and the activations below %v of %d photos", r.blocks, len(r.pix)))
	if r.below, err = r.m.Section("", r.cut, false); err != nil {
		return nil, err
	}
	r.deepF, r.acts = make([][]float32, len(r.pix)), make([][]float32, len(r.pix))
	for i, p := range r.pix {
		r.deepF[i] = make([]float32, r.m.Dim())
		if err := r.m.Forward(r.deepF[i], r.input(p)); err != nil {
			return nil, err
		}
		r.acts[i] = append([]float32(nil), r.below.Forward(r.input(p))...)
	}
	cfg := tune.DefaultConfig()
	cfg.Epochs = epochs
	pool := r.m.Info().Pool == "mean"
	ctx := context.Background()
	r.accuracy = map[string]float64{}
	say("training the frozen deep-layer probe")
	var res tune.Result
	if r.probe, res, err = tune.Train(ctx, nil, pool, r.deepF, r.y, C, r.train, r.val, nil, cfg); err != nil {
		return nil, err
	}
	r.accuracy["deep"] = res.ValAcc
	for _, s := range []struct {
		key     string
		defence float64
	}{{"finetuned", 0}, {"defended", 1}} {
		top, err := r.m.Section(r.cut, "", true)
		if err != nil {
			return nil, err
		}
		c := cfg
		c.Defence = s.defence
		c.Progress = func(e int, l, acc float64) {
			say(fmt.Sprintf("%s student: epoch %d/%d, val loss %.3f, val acc %.0f%%", s.key, e, c.Epochs, l, 100*acc))
		}
		st, res, err := tune.Train(ctx, top, pool, r.acts, r.y, C, r.train, r.val, r.deepF, c)
		if err != nil {
			return nil, err
		}
		if s.key == "finetuned" {
			r.ft = st
		} else {
			r.def = st
		}
		r.accuracy[s.key] = res.ValAcc
	}
	rTap, err := r.m.Section("", "", false)
	if err != nil {
		return nil, err
	}
	rCut, err := r.m.Section("", r.cut, false)
	if err != nil {
		return nil, err
	}
	r.tap = tune.NewAttack(rTap, pool, r.m.Info().InputRange, 0)
	r.cr = tune.NewAttack(rCut, false, r.m.Info().InputRange, 0)
	val := make([]any, len(r.val))
	for i, v := range r.val {
		val[i] = int(v)
	}
	return map[string]any{"deep": r.accuracy["deep"], "finetuned": r.accuracy["finetuned"], "defended": r.accuracy["defended"],
		"val": val, "train": len(r.train)}, nil
}

// robustAttack({source, target, iters, budget}) crafts the mimicry attack on the teacher for
// photo source (an index) towards the first training photo of targetClass: at the teacher's tap
// (against the deep-layer probe and the defended student) and at the cut (against the fine-tuned
// student). It returns the source, adversarial and perturbation images (RGBA, size², the
// perturbation amplified ×10 around grey), the DSSIMs, and each student's prediction before and
// after.
func (r *robustState) attack(args []js.Value) (any, error) {
	if r.probe == nil {
		return nil, errors.New("train the students first (robustTrain)")
	}
	o, err := object(args, "robustAttack({source, target, iters, budget})")
	if err != nil {
		return nil, err
	}
	src, err := jsval.Int(o.Get("source"), "source", 0, len(r.pix)-1)
	if err != nil {
		return nil, err
	}
	tc, err := jsval.Int(o.Get("target"), "target class", 0, len(r.labels)-1)
	if err != nil {
		return nil, err
	}
	iters, err := jsval.Int(o.Get("iters"), "iterations", 1, 5000)
	if err != nil {
		return nil, err
	}
	if o.Get("budget").Type() != js.TypeNumber {
		return nil, errors.New("budget must be a number")
	}
	budget := o.Get("budget").Float()
	if !(budget > 0 && budget < 0.5) {
		return nil, fmt.Errorf("budget %v outside (0, 0.5)", budget)
	}
	if int(r.y[src]) == tc {
		return nil, errors.New("the target class is the source photo's own class; pick another")
	}
	tgt := -1
	for _, i := range r.train {
		if int(r.y[i]) == tc {
			tgt = int(i)
			break
		}
	}
	if tgt < 0 {
		return nil, fmt.Errorf("class %q has no training photo to aim at", r.labels[tc])
	}
	predDeep := func(x []float32) int {
		f := make([]float32, r.m.Dim())
		r.m.Forward(f, r.input(x))
		return r.probe.Predict(f)
	}
	predTop := func(s *tune.Student) func([]float32) int {
		return func(x []float32) int { return s.Predict(append([]float32(nil), r.below.Forward(r.input(x))...)) }
	}
	r.tap.Iters, r.tap.Budget = iters, budget
	r.cr.Iters, r.cr.Budget = iters, budget
	adv, dTap, _ := r.tap.Run(r.pix[src], r.pix[tgt])
	advC, dCut, _ := r.cr.Run(r.pix[src], r.pix[tgt])
	name := func(c int) string { return r.labels[c] }
	students := []any{
		map[string]any{"student": "deep", "before": name(predDeep(r.pix[src])), "after": name(predDeep(adv)), "dssim": dTap},
		map[string]any{"student": "finetuned", "before": name(predTop(r.ft)(r.pix[src])), "after": name(predTop(r.ft)(advC)), "dssim": dCut},
		map[string]any{"student": "defended", "before": name(predTop(r.def)(r.pix[src])), "after": name(predTop(r.def)(adv)), "dssim": dTap},
	}
	return map[string]any{
		"size": r.m.Info().InputSize, "source": rgbaOf(r.pix[src], nil), "target": rgbaOf(r.pix[tgt], nil),
		"adversarial": rgbaOf(adv, nil), "perturbation": rgbaOf(adv, r.pix[src]),
		"sourceClass": name(int(r.y[src])), "targetClass": name(tc), "students": students,
	}, nil
}

// rgbaOf turns pixels in [0,1] (H,W,3) into RGBA bytes; with base, the difference from base
// amplified ten times around mid-grey.
func rgbaOf(x, base []float32) js.Value {
	n := len(x) / 3
	b := make([]byte, 4*n)
	for p := 0; p < n; p++ {
		for c := 0; c < 3; c++ {
			v := x[3*p+c]
			if base != nil {
				v = 0.5 + 10*(v-base[3*p+c])
			}
			b[4*p+c] = byte(math.Round(float64(min(1, max(0, v))) * 255))
		}
		b[4*p+3] = 255
	}
	return jsval.Uint8Array(b)
}
