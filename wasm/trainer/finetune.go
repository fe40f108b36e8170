//go:build js && wasm

package main

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/kernels"
	"finetuner/tune"
	"finetuner/wasm/jsval"
)

// The app's third mode: fine-tune the last blocks of the loaded backbone together with a linear
// head. The photos come as pixels; each runs once through the frozen layers below the blocks and
// that activation is cached, then the blocks and the head train on the cache (tune.Train) with the
// probe's validation split, the page's progress events, pause, resume and stop.

// finetuneLimit is the memory a fine-tune may plan to use in the worker: wasm32 addresses 4 GB,
// browsers often grant less, and the page, the backbone and the features need their share.
var finetuneLimit int64 = 1 << 30

// finetuneSetup is what both calls need: the section split at the cut below the last n blocks.
type finetuneSetup struct {
	bb         *backbone.Model
	id         string
	cut        string
	blocks     []string
	below, top *backbone.Section
}

func (a *app) finetuneSetup(n int) (*finetuneSetup, error) {
	a.mu.Lock()
	bb, id := a.bb, a.id
	a.mu.Unlock()
	if bb == nil {
		return nil, errors.New("no backbone loaded")
	}
	cut, names, err := bb.FinetuneCut(n)
	if err != nil {
		return nil, err
	}
	below, err := bb.Section("", cut, false)
	if err != nil {
		return nil, err
	}
	top, err := bb.Section(cut, "", true)
	if err != nil {
		return nil, err
	}
	return &finetuneSetup{bb: bb, id: id, cut: cut, blocks: names, below: below, top: top}, nil
}

// finetunePlan({blocks, n, valFraction}) → tune.Plan's fields with {cut, blocks, fits, error}:
// the memory and time fine-tuning the last blocks on n photos will take, measured on the loaded
// backbone, and whether it fits the worker's limit (error says why not).
func (a *app) finetunePlan(args []js.Value) (any, error) {
	o, err := object(args, "finetunePlan({blocks, n, valFraction})")
	if err != nil {
		return nil, err
	}
	blocks, err := jsval.Int(o.Get("blocks"), "blocks", 1, 8)
	if err != nil {
		return nil, err
	}
	n, err := jsval.Int(o.Get("n"), "n", 1, 1<<24)
	if err != nil {
		return nil, err
	}
	val := 0.2
	if v := o.Get("valFraction"); v.Type() == js.TypeNumber {
		val = v.Float()
	}
	s, err := a.finetuneSetup(blocks)
	if err != nil {
		return nil, err
	}
	p := tune.NewPlan(s.top, s.below, n, n-int(float64(n)*val+0.5), finetuneLimit)
	return planJS(p, s), nil
}

func planJS(p tune.Plan, s *finetuneSetup) map[string]any {
	bl := make([]any, len(s.blocks))
	for i, b := range s.blocks {
		bl[i] = b
	}
	out := map[string]any{
		"rows": p.Rows, "cacheBytes": float64(p.CacheBytes), "sectionBytes": float64(p.SectionBytes), "frozenBytes": float64(p.FrozenBytes),
		"weightBytes": float64(p.WeightBytes), "totalBytes": float64(p.TotalBytes), "limitBytes": float64(p.LimitBytes),
		"params": p.Params, "msPerRow": p.MsPerRow, "secPerEpoch": p.SecPerEpoch, "cacheSeconds": p.CacheSeconds,
		"cut": s.cut, "blocks": bl, "fits": true, "error": "",
	}
	if err := p.Fits(); err != nil {
		out["fits"], out["error"] = false, err.Error()
	}
	return out
}

// finetune({images, width, height, y, labels}, request, onEvents, onStatus) fine-tunes the last
// request.finetuneBlocks blocks with a linear head and resolves as train does, to {head, info,
// report} with probeValAcc (the frozen probe on the same split) and plan. images is an array of
// width×height RGBA Uint8Arrays, y an Int32Array of their labels (indices into labels). onStatus
// receives a line of text while the activations are cached.
func (a *app) finetune(args []js.Value) (any, error) {
	const call = "finetune({images, width, height, y, labels}, request, onEvents, onStatus)"
	if len(args) != 4 || args[0].Type() != js.TypeObject || args[1].Type() != js.TypeObject ||
		args[2].Type() != js.TypeFunction || args[3].Type() != js.TypeFunction {
		return nil, errors.New(call + " takes an object, an object and two functions")
	}
	o := args[0]
	req, err := head.ParseRequest([]byte(js.Global().Get("JSON").Call("stringify", args[1]).String()))
	if err != nil {
		return nil, err
	}
	if req.FinetuneBlocks < 1 {
		return nil, errors.New("finetune: the request's finetuneBlocks must be 1 or more")
	}
	cfg := req.Config.Defaults()
	im, err := readImages(o)
	if err != nil {
		return nil, err
	}
	y, labels := im.y, im.labels
	if a.hs.ctl != nil {
		return nil, errors.New("a training run is already in progress")
	}
	ctl := head.NewControl()
	a.hs.ctl = ctl
	defer func() { a.hs.ctl = nil }()
	s, err := a.finetuneSetup(req.FinetuneBlocks)
	if err != nil {
		return nil, err
	}
	if req.Backbone != "" && req.Backbone != s.id {
		return nil, fmt.Errorf("finetune: the request is for backbone %q but %q is loaded", req.Backbone, s.id)
	}
	C := len(labels)
	train, val := head.Split(y, C, cfg.ValFraction, cfg.Seed)
	plan := tune.NewPlan(s.top, s.below, len(y), len(train), finetuneLimit)
	if err := plan.Fits(); err != nil {
		return nil, err
	}

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	status := func(s string) { args[3].Invoke(s) }
	emit, flush := emitter(args[2])
	start := time.Now()

	// The cache: every photo through the frozen layers once.
	rows, err := a.cache(ctx, ctl, s.bb, s.below, im, func(i, n int) string {
		return fmt.Sprintf("caching the activations below %v: %d/%d photos", s.blocks, i, n)
	}, status)
	if err != nil {
		return nil, err
	}
	cacheSecs := time.Since(start).Seconds()
	status(fmt.Sprintf("fitting the head on the frozen features, then training %v with it", s.blocks))

	tc := tune.DefaultConfig()
	tc.Epochs, tc.Batch, tc.LRBackbone, tc.Seed = cfg.Epochs, cfg.BatchSize, cfg.LR, cfg.Seed
	tc.Patience = cfg.Patience
	// The result is a fine-tuned network (the best trained epoch); the frozen probe's accuracy on
	// the same split is reported beside it.
	tc.TrainedOnly = true
	var epLoss float64
	var epOK, epN int
	epochStart := time.Now()
	tc.Step = func(epoch, step, steps, n int, loss float64, ok int) {
		epLoss, epOK, epN = epLoss+loss, epOK+ok, epN+n
		emit(head.Event{Kind: "step", Epoch: epoch, Epochs: tc.Epochs, Step: (epoch-1)*steps + step, Steps: steps * tc.Epochs,
			TrainLoss: loss / float64(n), TrainAcc: float64(ok) / float64(n), LR: tc.LRBackbone,
			SamplesPerSec: float64(epN) / time.Since(epochStart).Seconds(), ElapsedMs: msSince(start)})
		if ctl.Wait(ctx) {
			cancel()
		}
	}
	tc.Progress = func(epoch int, vl, va float64) {
		emit(head.Event{Kind: "epoch", Epoch: epoch, Epochs: tc.Epochs, TrainLoss: epLoss / float64(max(epN, 1)),
			TrainAcc: float64(epOK) / float64(max(epN, 1)), HasVal: len(val) > 0, ValLoss: vl, ValAcc: va,
			SamplesPerSec: float64(epN) / time.Since(epochStart).Seconds(), ElapsedMs: msSince(start)})
		epLoss, epOK, epN, epochStart = 0, 0, 0, time.Now()
	}
	st, res, err := tune.Train(ctx, s.top, s.bb.Info().Pool == "mean", rows, y, C, train, val, nil, tc)
	if err != nil {
		flush()
		return nil, err
	}
	stopped := ctx.Err() != nil

	rep := &head.Report{Epochs: res.Epochs, BestEpoch: res.BestEpoch, Cancelled: stopped, NTrain: len(train), NVal: len(val), EvalSplit: "val",
		StoppedEarly: !stopped && res.Epochs < tc.Epochs}
	rep.TrainLoss, rep.TrainAcc, _ = studentEval(st, rows, y, train)
	eval := val
	if len(val) == 0 {
		eval, rep.EvalSplit = train, "train"
	}
	var pred []int32
	rep.ValLoss, rep.ValAcc, pred = studentEval(st, rows, y, eval)
	if len(val) == 0 {
		rep.ValLoss, rep.ValAcc = 0, 0
	}
	truth := make([]int32, len(eval))
	for i, r := range eval {
		truth[i] = y[r]
	}
	rep.Confusion = head.Confusion(truth, pred, C)
	rep.PerClass = head.PerClass(rep.Confusion, labels)
	rep.EvalIndex, rep.EvalPred = eval, pred
	rep.ElapsedMs = msSince(start)
	emit(head.Event{Kind: "done", Epoch: rep.Epochs, Epochs: tc.Epochs, TrainLoss: rep.TrainLoss, TrainAcc: rep.TrainAcc,
		HasVal: len(val) > 0, ValLoss: rep.ValLoss, ValAcc: rep.ValAcc, ElapsedMs: rep.ElapsedMs})
	flush()

	m, err := st.HeadModel(s.bb.Info(), labels, s.blocks, s.cut)
	if err != nil {
		return nil, err
	}
	m.Meta.BackboneID = s.id
	m.Meta.Metrics = map[string]float64{"valAcc": rep.ValAcc, "valLoss": rep.ValLoss, "trainAcc": rep.TrainAcc,
		"trainLoss": rep.TrainLoss, "probeValAcc": res.ProbeValAcc, "epochs": float64(rep.Epochs), "cacheSeconds": cacheSecs}
	file, err := m.MarshalSafetensors()
	if err != nil {
		return nil, err
	}
	if err := a.setHead(m); err != nil {
		return nil, err
	}
	rj, err := reportJSON(rep, labels, y)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"head": jsval.Uint8Array(file), "info": headInfo(m),
		"report":      js.Global().Get("JSON").Call("parse", string(rj)),
		"probeValAcc": res.ProbeValAcc, "plan": planJS(plan, s), "cacheSeconds": cacheSecs,
	}, nil
}

// checkPerClass refuses a fine-tune that cannot have a validation split: every class needs two
// photos, one to train on and one to validate.
func checkPerClass(y []int32, labels []string) error {
	count := make([]int, len(labels))
	for i, v := range y {
		if v < 0 || int(v) >= len(labels) {
			return fmt.Errorf("finetune: photo %d has label %d; there are %d classes", i, v, len(labels))
		}
		count[v]++
	}
	for c, n := range count {
		if n < 2 {
			return fmt.Errorf("class %q has %d photo(s): fine-tuning needs at least 2 per class (one to train on, one to validate); add photos or delete the class", labels[c], n)
		}
	}
	return nil
}

// studentEval returns the student's mean loss, accuracy and predictions on rows idx.
func studentEval(st *tune.Student, rows [][]float32, y, idx []int32) (loss, acc float64, pred []int32) {
	pred = make([]int32, len(idx))
	if len(idx) == 0 {
		return 0, 0, pred
	}
	ok := 0
	probs := make([]float32, st.C)
	for k, i := range idx {
		l := st.Logits(rows[i])
		p := head.Argmax(l)
		pred[k] = int32(p)
		if p == int(y[i]) {
			ok++
		}
		loss += kernels.SoftmaxCrossEntropyForward(probs, l, []int32{y[i]}, nil, 0, 1, st.C)
	}
	return loss / float64(len(idx)), float64(ok) / float64(len(idx)), pred
}

func msSince(t time.Time) float64 { return float64(time.Since(t).Microseconds()) / 1000 }

// images is the photos argument of finetune and trainMid: width×height RGBA pixels with labels.
type images struct {
	imgs   js.Value // array of Uint8Array
	w, h   int
	y      []int32
	labels []string
}

// readImages reads {images, width, height, y, labels} and refuses a set without a validation
// split (a class with fewer than 2 photos).
func readImages(o js.Value) (*images, error) {
	im := &images{imgs: o.Get("images")}
	var err error
	if im.w, err = jsval.Int(o.Get("width"), "width", 1, 1<<14); err != nil {
		return nil, err
	}
	if im.h, err = jsval.Int(o.Get("height"), "height", 1, 1<<14); err != nil {
		return nil, err
	}
	if im.y, err = jsval.Int32s(o.Get("y"), "y"); err != nil {
		return nil, err
	}
	if !js.Global().Get("Array").Call("isArray", im.imgs).Bool() || im.imgs.Length() != len(im.y) {
		return nil, fmt.Errorf("images must be an array of %d RGBA images (one per label)", len(im.y))
	}
	lv := o.Get("labels")
	if !js.Global().Get("Array").Call("isArray", lv).Bool() || lv.Length() < 2 {
		return nil, errors.New("labels must be an array of at least 2 class names")
	}
	im.labels = make([]string, lv.Length())
	for i := range im.labels {
		im.labels[i] = lv.Index(i).String()
	}
	return im, checkPerClass(im.y, im.labels)
}

// cache runs every photo through sec (from the image) and returns the outputs, one row per
// photo; it reports progress through status (say gives the text for i of n photos), yields to
// the worker's event loop, waits while paused and fails when the run is stopped.
func (a *app) cache(ctx context.Context, ctl *head.Control, bb *backbone.Model, sec *backbone.Section, im *images, say func(i, n int) string, status func(string)) ([][]float32, error) {
	rows := make([][]float32, len(im.y))
	var pre []float32
	last, lastSay := time.Now(), time.Time{}
	for i := range rows {
		if ctl.Wait(ctx) {
			return nil, errors.New("stopped while the photos ran through the frozen layers; nothing was trained")
		}
		rgba, err := jsval.Bytes(im.imgs.Index(i), fmt.Sprintf("image %d", i))
		if err != nil {
			return nil, err
		}
		if len(rgba) != im.w*im.h*4 {
			return nil, fmt.Errorf("image %d has %d bytes, want %d×%d×4 = %d", i, len(rgba), im.w, im.h, im.w*im.h*4)
		}
		a.mu.Lock()
		err = bb.Preprocess(&pre, rgba, im.w, im.h, backbone.View{})
		a.mu.Unlock()
		if err != nil {
			return nil, fmt.Errorf("image %d: %v", i, err)
		}
		rows[i] = append([]float32(nil), sec.Forward(pre)...)
		if time.Since(lastSay) > 250*time.Millisecond || i+1 == len(rows) {
			status(say(i+1, len(rows)))
			lastSay = time.Now()
		}
		yield(&last)
	}
	return rows, nil
}

// midTap is the mid-layer tap of a backbone: the input of the block two thirds of the way up, a
// stride-16 map in both backbones (centernet's expanded_conv_9/add, 14×14×64; mobilenetv2's
// expanded_conv_10/project, 14×14×136), features of textures and parts rather than objects.
func midTap(m *backbone.Model) (string, error) {
	bl := m.Blocks()
	if len(bl) < 3 {
		return "", fmt.Errorf("backbone %q has %d blocks; a mid-layer tap needs 3 or more", m.Info().ID, len(bl))
	}
	return bl[2*len(bl)/3].Cut, nil
}

// trainMid({images, width, height, y, labels}, request, onEvents, onStatus) trains a head (as
// train does, with request's settings) on mid-layer features: each photo runs through the frozen
// backbone to midTap, whose map is averaged over space. Resolves as train does, the head
// recording the tap so that predict, export and import use the same features.
func (a *app) trainMid(args []js.Value) (any, error) {
	const call = "trainMid({images, width, height, y, labels}, request, onEvents, onStatus)"
	if len(args) != 4 || args[0].Type() != js.TypeObject || args[1].Type() != js.TypeObject ||
		args[2].Type() != js.TypeFunction || args[3].Type() != js.TypeFunction {
		return nil, errors.New(call + " takes an object, an object and two functions")
	}
	req, err := head.ParseRequest([]byte(js.Global().Get("JSON").Call("stringify", args[1]).String()))
	if err != nil {
		return nil, err
	}
	if req.FinetuneBlocks > 0 {
		return nil, errors.New("trainMid keeps the backbone frozen: finetuneBlocks must be 0 (call finetune)")
	}
	im, err := readImages(args[0])
	if err != nil {
		return nil, err
	}
	if a.hs.ctl != nil {
		return nil, errors.New("a training run is already in progress")
	}
	a.mu.Lock()
	bb, id := a.bb, a.id
	a.mu.Unlock()
	if bb == nil {
		return nil, errors.New("no backbone loaded")
	}
	tap, err := midTap(bb)
	if err != nil {
		return nil, err
	}
	sec, err := bb.Section("", tap, false)
	if err != nil {
		return nil, err
	}
	ctl := head.NewControl()
	a.hs.ctl = ctl
	defer func() { a.hs.ctl = nil }()
	ctx := context.Background()
	status := func(s string) { args[3].Invoke(s) }
	rows, err := a.cache(ctx, ctl, bb, sec, im, func(i, n int) string {
		return fmt.Sprintf("running the photos to the mid-layer tap %s: %d/%d", tap, i, n)
	}, status)
	if err != nil {
		return nil, err
	}
	sh := sec.OutShape()
	D := sh[2]
	ds := &head.Dataset{X: make([]float32, len(rows)*D), Y: im.y, N: len(rows), D: D, Labels: im.labels}
	for i, r := range rows {
		kernels.MeanHW(ds.X[i*D:(i+1)*D], r, sh[0], sh[1], sh[2])
	}
	status(fmt.Sprintf("training the head on %d-d mid-layer features", D))
	req.Backbone, req.Tap = id, tap
	emit, flush := emitter(args[2])
	return a.fitHead(ctx, ds, req, ctl, emit, flush)
}
