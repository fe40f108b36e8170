//go:build js && wasm

package main

import (
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall/js"
	"testing"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/kernels"
	"finetuner/wasm/jsval"
)

// smallCenternet loads the converted centernet backbone at 64×64 px (the fine-tune path is the
// same at any size; 224 would make the test slow under Node), or skips without converted models.
func smallCenternet(t *testing.T) *backbone.Model {
	t.Helper()
	dir := filepath.Join("..", "..", "public", "models", "centernet")
	if _, err := os.Stat(filepath.Join(dir, "model.json")); err != nil {
		t.Skip("no converted models (./build.sh models)")
	}
	m0, err := backbone.Load(os.DirFS(filepath.Join("..", "..", "public", "models")), "centernet")
	if err != nil {
		t.Fatal(err)
	}
	info := m0.Info()
	info.InputSize, info.Dim = 64, 0
	mj, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := backbone.LoadGraphModel(mj, func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, p)) }, &info)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// photos returns n 64×64 RGBA images per class of 3 classes (a red, green or blue cast with
// noise and a bright square at a class-dependent place) and their labels.
func photos(n int) ([][]byte, []int32) {
	rng := kernels.NewRNG(5)
	var imgs [][]byte
	var y []int32
	for c := 0; c < 3; c++ {
		for k := 0; k < n; k++ {
			b := make([]byte, 64*64*4)
			for p := 0; p < 64*64; p++ {
				px, py := p%64, p/64
				for ch := 0; ch < 3; ch++ {
					v := 60 + 80*rng.Float64()
					if ch == c {
						v += 70
					}
					if px/16 == c+k%2 && py/16 == c {
						v = 250
					}
					b[4*p+ch] = byte(v)
				}
				b[4*p+3] = 255
			}
			imgs = append(imgs, b)
			y = append(y, int32(c))
		}
	}
	return imgs, y
}

func imagesArg(imgs [][]byte, y []int32, labels ...string) js.Value {
	arr := js.Global().Get("Array").New()
	for _, b := range imgs {
		arr.Call("push", jsval.Uint8Array(b))
	}
	ls := js.Global().Get("Array").New()
	for _, l := range labels {
		ls.Call("push", l)
	}
	return js.ValueOf(map[string]any{"images": arr, "width": 64, "height": 64, "y": int32s(y), "labels": ls})
}

func request(s string) js.Value { return js.Global().Get("JSON").Call("parse", s) }

var noStatus = js.FuncOf(func(js.Value, []js.Value) any { return nil })

func newSmallApp(t *testing.T) (*app, js.Value) {
	a := &app{bb: smallCenternet(t), id: "centernet"}
	return a, newAPI(a)
}

func predictProbs(t *testing.T, api js.Value, rgba []byte) []float32 {
	t.Helper()
	v, err := await(api.Call("predict", image(jsval.Uint8Array(rgba), 64, 64)))
	if err != nil {
		t.Fatal(err)
	}
	p := make([]float32, v.Length())
	for i := range p {
		p[i] = float32(v.Index(i).Float())
	}
	return p
}

func TestFinetune(t *testing.T) {
	a, api := newSmallApp(t)
	imgs, y := photos(5)
	plan, err := await(api.Call("finetunePlan", js.ValueOf(map[string]any{"blocks": 1, "n": len(imgs), "valFraction": 0.2})))
	if err != nil {
		t.Fatal(err)
	}
	if !plan.Get("fits").Bool() || plan.Get("totalBytes").Float() <= 0 || plan.Get("secPerEpoch").Float() <= 0 || plan.Get("blocks").Index(0).String() != "expanded_conv_14" {
		t.Fatalf("plan: fits %v, %v bytes, %v s per epoch, blocks %v", plan.Get("fits"), plan.Get("totalBytes"), plan.Get("secPerEpoch"), plan.Get("blocks"))
	}
	rec := newRecorder(t)
	res, err := await(api.Call("finetune", imagesArg(imgs, y, "red", "green", "blue"),
		request(`{"finetuneBlocks":1,"epochs":4,"batchSize":4,"lr":0.001,"valFraction":0.2,"seed":1,"backbone":"centernet"}`), rec.fn, noStatus))
	if err != nil {
		t.Fatal(err)
	}
	if rec.count("epoch") < 1 || rec.count("step") < 1 || rec.count("done") != 1 {
		t.Errorf("events: %d epoch, %d step, %d done", rec.count("epoch"), rec.count("step"), rec.count("done"))
	}
	rep := res.Get("report")
	if rep.Get("nVal").Int() != 3 || rep.Get("valIndex").Length() != 3 || rep.Get("valAcc").Float() < 0 {
		t.Errorf("report: nVal %v, valIndex %v, valAcc %v", rep.Get("nVal"), rep.Get("valIndex"), rep.Get("valAcc"))
	}
	if p := res.Get("probeValAcc").Float(); p < 0 || p > 1 {
		t.Errorf("probeValAcc %v", p)
	}
	if res.Get("info").Get("finetunedBlocks").Int() != 1 {
		t.Errorf("info: %v", js.Global().Get("JSON").Call("stringify", res.Get("info")))
	}
	file, _ := jsval.Bytes(res.Get("head"), "head")
	hm, err := head.ReadModel(file)
	if err != nil {
		t.Fatal(err)
	}
	if hm.Backbone == nil || hm.Backbone.Cut == "" || len(hm.Backbone.Names) == 0 {
		t.Fatalf("the head file has no fine-tuned layers: %+v", hm.Backbone)
	}

	// The weights moved, and predict runs the image through them: its probabilities are those of
	// the backbone with the head's layers, not of the frozen one.
	tuned, err := a.bb.WithWeights(hm.Backbone.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	want, frozen := make([]float32, hm.C), make([]float32, hm.C)
	feat := make([]float32, hm.D)
	tuned.Features(feat, imgs[0], 64, 64)
	hm.Predict(want, feat, 1)
	a.bb.Features(feat, imgs[0], 64, 64)
	hm.Predict(frozen, feat, 1)
	got := predictProbs(t, api, imgs[0])
	if d := maxDiff(got, want); d > 1e-5 {
		t.Errorf("predict differs from the fine-tuned backbone's probabilities by %g", d)
	}
	if d := maxDiff(want, frozen); d < 1e-4 {
		t.Errorf("the fine-tuned layers change the probabilities by only %g: the test cannot tell them from the frozen backbone's", d)
	}

	// Export, then import into a fresh worker with the same backbone: the same predictions.
	exp, err := await(api.Call("exportHead"))
	if err != nil {
		t.Fatal(err)
	}
	_, api2 := newSmallApp(t)
	if _, err := await(api2.Call("importHead", exp)); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(predictProbs(t, api2, imgs[0]), got); d > 1e-6 {
		t.Errorf("the imported fine-tuned head predicts differently by %g", d)
	}
}

func maxDiff(a, b []float32) float64 {
	d := 0.0
	for i := range a {
		d = max(d, math.Abs(float64(a[i]-b[i])))
	}
	return d
}

func TestFinetuneErrors(t *testing.T) {
	_, api := newSmallApp(t)
	imgs, y := photos(3)
	req := request(`{"finetuneBlocks":1,"epochs":1,"valFraction":0.2}`)
	call := func(arg js.Value, req js.Value) error {
		_, err := await(api.Call("finetune", arg, req, newRecorder(t).fn, noStatus))
		return err
	}
	// One photo of a class: no validation split.
	y1 := slices.Clone(y)
	y1[0], y1[1] = 1, 1
	if err := call(imagesArg(imgs, y1, "red", "green", "blue"), req); err == nil || !strings.Contains(err.Error(), `class "red" has 1 photo`) {
		t.Errorf("one photo in a class: %v", err)
	}
	if err := call(imagesArg(imgs[:4], y, "red", "green", "blue"), req); err == nil || !strings.Contains(err.Error(), "array of 9") {
		t.Errorf("fewer images than labels: %v", err)
	}
	if err := call(imagesArg(imgs, y, "red", "green", "blue"), request(`{"finetuneBlocks":99}`)); err == nil || !strings.Contains(err.Error(), "finetuneBlocks") {
		t.Errorf("99 blocks: %v", err)
	}
	if err := call(imagesArg(imgs, y, "red", "green", "blue"), request(`{"finetuneBlocks":1,"backbone":"mobilenetv2"}`)); err == nil || !strings.Contains(err.Error(), `"centernet" is loaded`) {
		t.Errorf("another backbone: %v", err)
	}
	// Memory: refused before anything runs, with the numbers.
	old := finetuneLimit
	finetuneLimit = 1 << 20
	defer func() { finetuneLimit = old }()
	err := call(imagesArg(imgs, y, "red", "green", "blue"), req)
	if err == nil || !strings.Contains(err.Error(), "more than the 1.0 MB allowed") {
		t.Errorf("over the memory limit: %v", err)
	}
	plan, err := await(api.Call("finetunePlan", js.ValueOf(map[string]any{"blocks": 2, "n": 9})))
	if err != nil || plan.Get("fits").Bool() || !strings.Contains(plan.Get("error").String(), "fewer images or fewer blocks") {
		t.Errorf("plan over the limit: %v %v", err, plan.Get("error"))
	}
}

func TestFinetunePauseStop(t *testing.T) {
	_, api := newSmallApp(t)
	imgs, y := photos(4)
	rec := newRecorder(t)
	p := api.Call("finetune", imagesArg(imgs, y, "red", "green", "blue"),
		request(`{"finetuneBlocks":2,"epochs":1000,"batchSize":2,"lr":0.0001,"valFraction":0.25,"patience":0}`), rec.fn, noStatus)
	deadline := time.Now().Add(120 * time.Second)
	for rec.count("step") < 3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d steps after 120 s", rec.count("step"))
		}
		time.Sleep(5 * time.Millisecond)
	}
	if _, err := await(api.Call("finetune", imagesArg(imgs, y, "red", "green", "blue"), request(`{"finetuneBlocks":1}`), rec.fn, noStatus)); err == nil || !strings.Contains(err.Error(), "in progress") {
		t.Errorf("a second run while one goes on: %v", err)
	}
	api.Call("pause")
	time.Sleep(200 * time.Millisecond)
	before := rec.count("step")
	time.Sleep(400 * time.Millisecond)
	if after := rec.count("step"); after != before {
		t.Errorf("steps went on while paused: %d → %d", before, after)
	}
	api.Call("resume")
	for rec.count("step") <= before {
		time.Sleep(5 * time.Millisecond)
	}
	api.Call("stop")
	res, err := await(p)
	if err != nil {
		t.Fatal(err)
	}
	if !res.Get("report").Get("stopped").Bool() || res.Get("head").Length() == 0 {
		t.Errorf("a stopped fine-tune: stopped %v, head of %d bytes", res.Get("report").Get("stopped"), res.Get("head").Length())
	}
}

func TestTrainMid(t *testing.T) {
	a, api := newSmallApp(t)
	imgs, y := photos(4)
	res, err := await(api.Call("trainMid", imagesArg(imgs, y, "red", "green", "blue"),
		request(`{"auto":true,"valFraction":0.25,"seed":1,"backbone":"centernet"}`), newRecorder(t).fn, noStatus))
	if err != nil {
		t.Fatal(err)
	}
	tap, _ := midTap(a.bb)
	if got := res.Get("info").Get("tap").String(); got != tap || !strings.Contains(tap, "expanded_conv_9/add") {
		t.Errorf("the mid-layer head reads %q; want the tap %q (centernet's expanded_conv_9/add)", got, tap)
	}
	got := predictProbs(t, api, imgs[5])
	exp, _ := await(api.Call("exportHead"))
	_, api2 := newSmallApp(t)
	if _, err := await(api2.Call("importHead", exp)); err != nil {
		t.Fatal(err)
	}
	if d := maxDiff(predictProbs(t, api2, imgs[5]), got); d > 1e-6 {
		t.Errorf("the imported mid-layer head predicts differently by %g", d)
	}
	// Its features are the tap's map averaged over space.
	file, _ := jsval.Bytes(exp, "head")
	hm, _ := head.ReadModel(file)
	sec, _ := a.bb.Section("", tap, false)
	var pre []float32
	a.bb.Preprocess(&pre, imgs[5], 64, 64, backbone.View{})
	sh := sec.OutShape()
	feat := make([]float32, sh[2])
	kernels.MeanHW(feat, sec.Forward(pre), sh[0], sh[1], sh[2])
	want := make([]float32, hm.C)
	hm.Predict(want, feat, 1)
	if d := maxDiff(got, want); d > 1e-5 {
		t.Errorf("predict differs from the tap's features by %g", d)
	}
	if _, err := await(api.Call("trainMid", imagesArg(imgs, y, "red", "green", "blue"), request(`{"finetuneBlocks":1}`), newRecorder(t).fn, noStatus)); err == nil {
		t.Error("trainMid with finetuneBlocks did not fail")
	}
}
