//go:build js && wasm

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"syscall/js"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/head/progress"
	"finetuner/kernels"
	"finetuner/wasm/jshead"
	"finetuner/wasm/jsval"
)

// headState is the trained or imported head and the control of a run in progress.
type headState struct {
	model *head.Model
	ctl   *head.Control
	// feat computes the current head's features when the loaded backbone's own features are not
	// them: a fine-tuned head's (the backbone with its layers applied, Model.WithWeights) or a
	// mid-layer head's (a section from the image to its tap, averaged over space). featFor is
	// the backbone loaded when feat was made; feat is nil for a head on the deep features.
	feat    func(dst, x []float32)
	featFor *backbone.Model
}

// setHead makes m the current head, after checking that the loaded backbone can compute its
// features.
func (a *app) setHead(m *head.Model) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	prev := a.hs.model
	a.hs.model, a.hs.feat, a.hs.featFor = m, nil, nil
	if a.bb == nil {
		return nil
	}
	if _, err := a.headFeatures(m); err != nil {
		a.hs.model = prev
		return err
	}
	return nil
}

// headFeatures returns the function that computes m's features from a preprocessed image on the
// loaded backbone, or nil when they are the backbone's own (Model.Forward). It is rebuilt when
// another backbone was loaded since. a.mu must be held.
func (a *app) headFeatures(m *head.Model) (func(dst, x []float32), error) {
	if a.bb == nil {
		return nil, errors.New("no backbone loaded")
	}
	if m.Meta.BackboneID != "" && a.id != "" && m.Meta.BackboneID != a.id {
		return nil, fmt.Errorf("this head was trained on backbone %q, but %q is loaded: choose that backbone first", m.Meta.BackboneID, a.id)
	}
	mid := m.Backbone == nil && m.Meta.Tap != "" && m.Meta.Tap != a.bb.Info().Tap
	if m.Backbone == nil && !mid {
		if m.D != a.bb.Dim() {
			return nil, fmt.Errorf("the head expects %d-d features but backbone %q gives %d", m.D, a.id, a.bb.Dim())
		}
		return nil, nil
	}
	if a.hs.feat != nil && a.hs.featFor == a.bb && a.hs.model == m {
		return a.hs.feat, nil
	}
	var f func(dst, x []float32)
	if m.Backbone != nil {
		t, err := a.bb.WithWeights(m.Backbone.Tensors)
		if err != nil {
			return nil, err
		}
		if m.D != t.Dim() {
			return nil, fmt.Errorf("the head expects %d-d features but its fine-tuned backbone gives %d", m.D, t.Dim())
		}
		f = func(dst, x []float32) { t.Forward(dst, x) }
	} else {
		sec, err := a.bb.Section("", m.Meta.Tap, false)
		if err != nil {
			return nil, fmt.Errorf("this head reads the mid-layer tap %q: %v", m.Meta.Tap, err)
		}
		sh := sec.OutShape()
		if len(sh) != 3 || sh[2] != m.D {
			return nil, fmt.Errorf("the head expects %d-d features but the tap %q has shape %v", m.D, m.Meta.Tap, sh)
		}
		f = func(dst, x []float32) { kernels.MeanHW(dst, sec.Forward(x), sh[0], sh[1], sh[2]) }
	}
	a.hs.feat, a.hs.featFor = f, a.bb
	return f, nil
}

func (a *app) registerHead(api js.Value) {
	for name, fn := range map[string]func(args []js.Value) (any, error){
		"train":        a.train,
		"predict":      a.predict,
		"exportHead":   a.exportHead,
		"exportModel":  a.exportModel,
		"importHead":   a.importHead,
		"finetune":     a.finetune,
		"finetunePlan": a.finetunePlan,
		"trainMid":     a.trainMid,
	} {
		api.Set(name, entry(name, fn))
	}
	// Pause, resume and stop act at once: they only flip the Control the training goroutine checks.
	for name, fn := range map[string]func(*head.Control){
		"pause": (*head.Control).Pause, "resume": (*head.Control).Resume, "stop": (*head.Control).Cancel,
	} {
		api.Set(name, js.FuncOf(func(this js.Value, args []js.Value) any {
			if c := a.hs.ctl; c != nil {
				fn(c)
			}
			return nil
		}))
	}
}

// pageReport is head.Report as the page shows it: the evaluated rows with their true and
// predicted classes for the gallery, per-class numbers with accuracy (= recall) spelled out.
type pageReport struct {
	*head.Report
	Labels   []string    `json:"labels"`
	PerClass []pageClass `json:"perClass"`
	ValIndex []int32     `json:"valIndex"`
	ValPred  []int32     `json:"valPred"`
	ValTrue  []int32     `json:"valTrue"`
	Stopped  bool        `json:"stopped"`
}

type pageClass struct {
	head.ClassMetrics
	Accuracy float64 `json:"accuracy"`
}

// train({x, y, n, d, labels, group}, request, onEvents) fits a head on the features and resolves
// to {head: Uint8Array, info, report}. x is a Float32Array of n×d features, y an Int32Array of n
// labels (indices into labels); group (an Int32Array, one id per row) marks rows that are views of
// one image, see head.Dataset.Group. request is a head.Request. onEvents receives the progress as
// Float64Arrays of events in progress's encoding.
func (a *app) train(args []js.Value) (any, error) {
	if len(args) != 3 || args[0].Type() != js.TypeObject || args[1].Type() != js.TypeObject || args[2].Type() != js.TypeFunction {
		return nil, errors.New("train({x, y, n, d, labels, group}, request, onEvents) takes an object, an object and a function")
	}
	data := args[0]
	ds, err := jshead.Dataset(data.Get("x"), data.Get("y"), data.Get("n"), data.Get("d"), data.Get("labels"))
	if err != nil {
		return nil, err
	}
	req, err := head.ParseRequest([]byte(js.Global().Get("JSON").Call("stringify", args[1]).String()))
	if err != nil {
		return nil, err
	}
	if req.FinetuneBlocks > 0 {
		return nil, errors.New("train fits a head on features; fine-tuning blocks takes the photos (call finetune)")
	}
	if a.hs.ctl != nil {
		return nil, errors.New("a training run is already in progress")
	}
	if g := data.Get("group"); !g.IsUndefined() && !g.IsNull() {
		if ds.Group, err = jsval.Int32s(g, "group"); err != nil {
			return nil, err
		}
	}

	ctl := head.NewControl()
	a.hs.ctl = ctl
	defer func() { a.hs.ctl = nil }()
	emit, flush := emitter(args[2])
	return a.fitHead(context.Background(), ds, req, ctl, emit, flush)
}

// fitHead trains a head on ds as req asks (the automatic probe or mini-batches), makes it the
// current head and returns the page's {head, info, report}.
func (a *app) fitHead(ctx context.Context, ds *head.Dataset, req head.Request, ctl *head.Control, emit func(head.Event), flush func()) (any, error) {
	run := head.Train
	if req.Auto {
		run = head.AutoProbe
	}
	m, rep, err := run(ctx, ds, req.Config, ctl, emit)
	flush()
	if err != nil {
		return nil, err
	}
	m.Meta.BackboneID, m.Meta.Tap = req.Backbone, req.Tap
	m.Meta.Metrics = map[string]float64{"valAcc": rep.ValAcc, "valLoss": rep.ValLoss, "trainAcc": rep.TrainAcc, "trainLoss": rep.TrainLoss}
	m.Meta.Created = time.Now().UTC().Format(time.RFC3339)
	file, err := m.MarshalSafetensors()
	if err != nil {
		return nil, err
	}
	if err := a.setHead(m); err != nil {
		return nil, err
	}
	rj, err := reportJSON(rep, ds.Labels, ds.Y)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"head":   jsval.Uint8Array(file),
		"info":   headInfo(m),
		"report": js.Global().Get("JSON").Call("parse", string(rj)),
	}, nil
}

// emitter returns the progress callback of a run and the flush to call when it ends. Events go
// out to onEvents in batches (every 50 ms, and at once for anything but a step) so the page gets
// every point without one message per step, and a short sleep every few milliseconds hands the
// worker's event loop a turn so pause and stop messages arrive during training.
func emitter(onEvents js.Value) (emit func(head.Event), flush func()) {
	var batch []float64
	lastYield, lastFlush := time.Now(), time.Now()
	flush = func() {
		if len(batch) == 0 {
			return
		}
		onEvents.Invoke(jsval.Float64Array(batch))
		batch = batch[:0]
		lastFlush = time.Now()
	}
	emit = func(e head.Event) {
		finite(&e)
		batch = progress.Append(batch, e)
		now := time.Now()
		if e.Kind != "step" || now.Sub(lastFlush) >= 50*time.Millisecond {
			flush()
		}
		yield(&lastYield)
	}
	return emit, flush
}

// yield sleeps a millisecond when 8 ms have passed since *last, so the worker's event loop runs.
func yield(last *time.Time) {
	if time.Since(*last) >= 8*time.Millisecond {
		time.Sleep(time.Millisecond)
		*last = time.Now()
	}
}

// reportJSON is the page's report of a run: rep with the labels, per-class accuracy and the
// true class of each evaluated row (y holds every row's label).
func reportJSON(rep *head.Report, labels []string, y []int32) ([]byte, error) {
	pr := pageReport{Report: rep, Labels: labels, ValIndex: rep.EvalIndex, ValPred: rep.EvalPred, Stopped: rep.Cancelled}
	for _, c := range rep.PerClass {
		pr.PerClass = append(pr.PerClass, pageClass{c, c.Recall})
	}
	pr.ValTrue = make([]int32, len(rep.EvalIndex))
	for i, r := range rep.EvalIndex {
		pr.ValTrue[i] = y[r]
	}
	return json.Marshal(pr)
}

// finite replaces NaN and ±Inf in an event by 0: a samples/s over a zero-length interval of a
// coarse worker clock, or a diverged loss, shows as 0 rather than "Infinity" in the page's status
// line, and the curves skip the point.
func finite(e *head.Event) {
	for _, p := range []*float64{&e.TrainLoss, &e.TrainAcc, &e.ValLoss, &e.ValAcc, &e.LR, &e.Lambda, &e.SamplesPerSec, &e.ElapsedMs} {
		if math.IsNaN(*p) || math.IsInf(*p, 0) {
			*p = 0
		}
	}
}

func headInfo(m *head.Model) map[string]any {
	labels := make([]any, len(m.Labels))
	for i, l := range m.Labels {
		labels[i] = l
	}
	info := map[string]any{"labels": labels, "backbone": m.Meta.BackboneID, "tap": m.Meta.Tap, "dim": m.D, "kind": m.Arch.Kind(), "finetunedBlocks": 0}
	if m.Backbone != nil {
		bl := make([]any, len(m.Backbone.Blocks))
		for i, b := range m.Backbone.Blocks {
			bl[i] = b
		}
		info["finetunedBlocks"], info["blocks"] = len(bl), bl
	}
	return info
}

// predict({rgba, width, height}) → Float32Array of class probabilities.
func (a *app) predict(args []js.Value) (any, error) {
	_, rgba, w, h, err := a.image(args, "predict({rgba, width, height})")
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	m := a.hs.model
	if m == nil {
		return nil, errors.New("no head: train or import one first")
	}
	f, err := a.headFeatures(m)
	if err != nil {
		return nil, err
	}
	feat := make([]float32, m.D)
	if f == nil {
		err = a.bb.Features(feat, rgba, w, h)
	} else if err = a.bb.Preprocess(&a.pre, rgba, w, h, backbone.View{}); err == nil {
		f(feat, a.pre)
	}
	if err != nil {
		return nil, err
	}
	probs := make([]float32, m.C)
	if err := m.Predict(probs, feat, 1); err != nil {
		return nil, err
	}
	return jsval.Float32Array(probs), nil
}

func (a *app) exportHead(args []js.Value) (any, error) {
	m := a.hs.model
	if m == nil {
		return nil, errors.New("no head to export: train one first")
	}
	b, err := m.MarshalSafetensors()
	if err != nil {
		return nil, err
	}
	return jsval.Uint8Array(b), nil
}

// importHead(bytes) validates a head file and makes it the current head. A head made for another
// backbone or feature size is refused with a message that says which.
func (a *app) importHead(args []js.Value) (any, error) {
	if len(args) != 1 {
		return nil, errors.New("importHead(bytes) takes 1 argument")
	}
	b, err := jsval.Bytes(args[0], "head file")
	if err != nil {
		return nil, err
	}
	m, err := head.ReadModel(b)
	if err != nil {
		return nil, err
	}
	if err := a.setHead(m); err != nil {
		return nil, err
	}
	return headInfo(m), nil
}
