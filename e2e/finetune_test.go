//go:build !js

package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/imagefile"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/chromedp"
)

// TestAppFinetune runs the app's fine-tune mode on the demo set in headless Chromium: the plan
// shown before starting, a short fine-tune of the last block with its curves, pause and resume,
// predictions through the fine-tuned layers (checked against our Go runtime on the same pixels),
// the head exported as format 2 and imported back to the same predictions, the TF.js export, a
// fine-tune of 2 blocks stopped mid-run (the best epoch so far kept), and a class with one photo
// refused with a message. With FINETUNER_MEASURE=1 it also times every mode on both backbones.
func TestAppFinetune(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-browser.sh", "public/build/trainer.wasm", "public/build/plot.wasm", "public/models/manifest.json", "public/demo/manifest.json")
	out := e2eOut(t)
	downloads := filepath.Join(out, "downloads-finetune")
	os.RemoveAll(downloads)
	os.MkdirAll(downloads, 0o755)
	srv := startServer(t, root)
	ctx, cancel := startBrowser(t, exe, filepath.Join(out, "netlog-finetune.json"), downloads)
	defer cancel()
	start := time.Now()
	step := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }
	if _, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (any, error) {
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		return nil, err
	}); err != nil {
		t.Fatal(err)
	}

	step("open the app, load the demo set")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.body.dataset.ready === '1' && window.finetuner.state.backbone !== null`, 90*time.Second, "the app and its backbone")
	// The demo set replaces the two empty classes.
	for n := 1; n >= 0; n-- {
		waitFor(t, ctx, `document.querySelectorAll('#classes .del').length === `+itoa(n+1), 5*time.Second, "the class cards")
		js[any](t, ctx, `(() => { const b = document.querySelectorAll('#classes .del')[0]; b.click(); b.click(); })()`)
		waitFor(t, ctx, `window.finetuner.state.classes.length === `+itoa(n), 5*time.Second, "an empty class deleted")
	}
	js[any](t, ctx, `document.getElementById('load-demo').click()`)
	demo := readDemo(t, root)
	waitFor(t, ctx, `window.finetuner.state.samples.size >= `+itoa(demo.total), 120*time.Second, "the demo images")
	waitFor(t, ctx, `window.finetuner.state.classes.length === `+itoa(len(demo.names)), 10*time.Second, "the demo classes alone")
	noErrors(t, ctx, "after loading the demo set")

	step("fine-tune mode: the plan before starting")
	setMode(t, ctx, "finetune1", 3)
	waitFor(t, ctx, `!document.getElementById('finetune-plan').hidden && /MB/.test(document.getElementById('finetune-plan').textContent)`, 60*time.Second, "the memory and time plan")
	plan := js[string](t, ctx, `document.getElementById('finetune-plan').textContent`)
	t.Logf("plan: %s", plan)
	mustf(t, strings.Contains(plan, "expanded_conv_14") && strings.Contains(plan, "s per epoch") && strings.Contains(plan, "cached activations"), "the plan does not say what it needs: %q", plan)
	mustf(t, js[bool](t, ctx, `document.getElementById('manual').hidden && !document.getElementById('finetune-opts').hidden`), "fine-tune mode shows the head settings or hides its own")
	mustf(t, js[string](t, ctx, `document.getElementById('mode-help').textContent`) != "", "no help text for the mode")
	screenshot(t, ctx, "#settings", filepath.Join(out, "finetune-settings.png"))

	step("fine-tune the last block: curves, pause, resume")
	epochs := `window.finetuner.plot.eventList().filter(e => e.kind === 'epoch').length`
	steps := `window.finetuner.plot.eventList().filter(e => e.kind === 'step').length`
	t0 := time.Now()
	js[any](t, ctx, `document.getElementById('train-btn').click()`)
	waitFor(t, ctx, steps+` >= 2`, 240*time.Second, "the first fine-tuning steps")
	mustf(t, js[bool](t, ctx, `document.querySelector('#settings select[name=mode]').disabled && document.getElementById('backbone').disabled`), "the mode or the backbone can change during a run")
	js[any](t, ctx, `document.getElementById('pause-btn').click()`)
	time.Sleep(1500 * time.Millisecond) // a batch may be on its way
	n0 := js[int](t, ctx, steps)
	time.Sleep(2 * time.Second)
	mustf(t, js[int](t, ctx, steps) == n0, "steps went on while paused")
	mustf(t, strings.Contains(js[string](t, ctx, `document.getElementById('train-status').textContent`), "paused"), "the status does not say paused")
	js[any](t, ctx, `document.getElementById('pause-btn').click()`)
	waitFor(t, ctx, `window.finetuner.state.training === false && window.finetuner.state.report !== null`, 300*time.Second, "the fine-tune to finish")
	noErrors(t, ctx, "after the fine-tune")
	rep := js[map[string]any](t, ctx, `(() => { const r = window.finetuner.state.report; return {mode: r.mode, valAcc: r.valAcc, probe: r.probeValAcc, epochs: r.epochs, best: r.bestEpoch, nVal: r.nVal, stopped: r.stopped}; })()`)
	t.Logf("fine-tuned 1 block in %.1f s (with pause): %v; status %q", time.Since(t0).Seconds(), rep, js[string](t, ctx, `document.getElementById('train-status').textContent`))
	mustf(t, rep["mode"] == "finetune1" && rep["stopped"] == false && js[int](t, ctx, epochs) >= 1, "report %v", rep)
	mustf(t, js[int](t, ctx, `window.finetuner.state.headInfo.finetunedBlocks`) == 1, "the head does not say it fine-tuned 1 block")
	mustf(t, strings.Contains(js[string](t, ctx, `document.getElementById('eval-acc').textContent`), "frozen head on the same split"), "the evaluation does not show the frozen head's accuracy beside")
	waitFor(t, ctx, `window.finetuner.plot.drawn && window.finetuner.plot.drawn.points > 0`, 20*time.Second, "the plot to draw")
	checkEval(t, screenshot(t, ctx, "#plot", filepath.Join(out, "finetune-eval.png")))
	js[any](t, ctx, `window.finetuner.plot.setOptions({view: 'curves'})`)
	time.Sleep(800 * time.Millisecond)
	checkCurves(t, screenshot(t, ctx, "#plot", filepath.Join(out, "finetune-curves.png")))
	screenshot(t, ctx, "", filepath.Join(out, "finetune-page.png"))

	step("predictions run through the fine-tuned layers")
	pix := demoPixels(t, demo, 224)
	got := pagePredict(t, ctx, pix)
	js[any](t, ctx, `document.getElementById('export-head').click()`)
	headFile := waitDownload(t, downloads, ".safetensors", 20*time.Second)
	b, err := os.ReadFile(headFile)
	if err != nil {
		t.Fatal(err)
	}
	hm, err := head.ReadModel(b)
	if err != nil {
		t.Fatalf("the exported head: %v", err)
	}
	mustf(t, hm.Backbone != nil && len(hm.Backbone.Blocks) == 1, "the exported head has no fine-tuned layers (format 2)")
	bb, err := backbone.Load(os.DirFS(filepath.Join(root, "public/models")), "centernet")
	if err != nil {
		t.Fatal(err)
	}
	tuned, err := bb.WithWeights(hm.Backbone.Tensors)
	if err != nil {
		t.Fatal(err)
	}
	worst, moved := 0.0, 0.0
	for i, rgba := range pix {
		want, frozen := goPredict(t, tuned, hm, rgba), goPredict(t, bb, hm, rgba)
		for c := range want {
			worst = max(worst, math.Abs(got[i][c]-want[c]))
			moved = max(moved, math.Abs(want[c]-frozen[c]))
		}
	}
	t.Logf("page vs Go runtime with the fine-tuned layers: max |Δp| %.2g; fine-tuned vs frozen layers: %.2g", worst, moved)
	mustf(t, worst < 1e-4, "the page's predictions differ from the fine-tuned network's by %.3g", worst)
	mustf(t, moved > 1e-3, "the fine-tuned layers change the probabilities by only %.3g: the check cannot tell them apart", moved)

	step("import the head back: the same predictions")
	js[any](t, ctx, `window.finetuner.state.head = null`)
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("import-head"), []string{headFile})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `/head imported/.test(document.getElementById('io-status').textContent)`, 20*time.Second, "the head import")
	again := pagePredict(t, ctx, pix)
	for i := range again {
		for c := range again[i] {
			mustf(t, math.Abs(again[i][c]-got[i][c]) < 1e-6, "the imported head predicts %v, before %v", again[i], got[i])
		}
	}
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("preview-file"), []string{demo.files[0][0]})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelectorAll('#probs li').length === `+itoa(len(demo.names)), 30*time.Second, "class probability bars")

	step("export the fine-tuned model for TF.js")
	js[any](t, ctx, `document.getElementById('export-tfjs').click()`)
	zip := waitDownload(t, downloads, "-tfjs.zip", 60*time.Second)
	waitFor(t, ctx, `/model exported for TF.js/.test(document.getElementById('io-status').textContent)`, 20*time.Second, "the export's status")
	fi, _ := os.Stat(zip)
	t.Logf("TF.js export: %d bytes", fi.Size())

	step("fine-tune 2 blocks, stopped mid-run")
	setMode(t, ctx, "finetune2", 50)
	js[any](t, ctx, `document.getElementById('train-btn').click()`)
	waitFor(t, ctx, `window.finetuner.state.training && `+epochs+` >= 1`, 300*time.Second, "a first epoch of 2 blocks")
	js[any](t, ctx, `document.getElementById('stop-btn').click()`)
	waitFor(t, ctx, `window.finetuner.state.training === false`, 60*time.Second, "the stop")
	noErrors(t, ctx, "after the stop")
	mustf(t, js[bool](t, ctx, `window.finetuner.state.report.stopped && window.finetuner.state.headInfo.finetunedBlocks === 2`), "a stopped fine-tune keeps no head: %v", js[any](t, ctx, `window.finetuner.state.headInfo`))
	mustf(t, strings.HasPrefix(js[string](t, ctx, `document.getElementById('train-status').textContent`), "stopped"), "the status does not say stopped")

	step("a class with one photo is refused with a message")
	js[any](t, ctx, `document.getElementById('add-class').click()`)
	n := len(demo.names) + 1
	waitFor(t, ctx, `window.finetuner.state.classes.length === `+itoa(n), 5*time.Second, "a new class")
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.CSS(fmt.Sprintf(`#classes > li:nth-child(%d) input.upload`, n)), demo.files[0][:1])); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `[...window.finetuner.state.samples.values()].filter(s => s.classId === window.finetuner.state.classes.at(-1).id).length === 1`, 20*time.Second, "the one photo")
	js[any](t, ctx, `document.getElementById('train-btn').click()`)
	waitFor(t, ctx, `/at least 2 per class/.test(document.getElementById('errors').innerText)`, 30*time.Second, "the one-photo message")
	mustf(t, js[int](t, ctx, `window.finetuner.state.headInfo.finetunedBlocks`) == 2, "the refused run lost the head")
	js[any](t, ctx, `(() => { const b = [...document.querySelectorAll('#classes .del')].at(-1); b.click(); b.click(); document.querySelectorAll('#errors button').forEach((b) => b.click()); })()`)

	step("the mode texts in Japanese (?lang=ja), after a reload: the fine-tuned head restored")
	waitFor(t, ctx, `document.getElementById('chip-storage').textContent === 'saved'`, 10*time.Second, "autosave")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"?lang=ja")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.body.dataset.ready === '1' && window.finetuner.state.backbone !== null && window.finetuner.state.headInfo`, 90*time.Second, "the app to reload")
	mustf(t, js[int](t, ctx, `window.finetuner.state.headInfo.finetunedBlocks`) == 2, "the reloaded project lost its fine-tuned head")
	waitFor(t, ctx, `/MB/.test(document.getElementById('finetune-plan').textContent)`, 60*time.Second, "the plan after the reload")
	ja := js[string](t, ctx, `document.querySelector('#settings [data-i18n="app.mode"]').textContent + ' | ' + document.getElementById('mode-help').textContent + ' | ' + document.getElementById('finetune-plan').textContent`)
	t.Logf("ja: %s", ja)
	mustf(t, strings.Contains(ja, "学習するもの") && strings.Contains(ja, "ファインチューニング") && strings.Contains(ja, "上限"), "the mode texts are not in Japanese: %s", ja)
	screenshot(t, ctx, "#settings", filepath.Join(out, "finetune-settings-ja.png"))
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("preview-file"), []string{demo.files[1][0]})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelectorAll('#probs li').length === `+itoa(len(demo.names)), 30*time.Second, "a prediction with the restored head")
	noErrors(t, ctx, "after the reload")

	if os.Getenv("FINETUNER_MEASURE") == "1" {
		measureModes(t, ctx)
	}
}

// setMode picks a mode in the settings form with epochs fine-tuning epochs.
func setMode(t *testing.T, ctx context.Context, mode string, epochs int) {
	t.Helper()
	js[any](t, ctx, fmt.Sprintf(`(() => { const f = document.getElementById('settings'); f.elements.mode.value = %q; f.elements.ftEpochs.value = %d; f.dispatchEvent(new Event('change')); })()`, mode, epochs))
	waitFor(t, ctx, fmt.Sprintf(`window.finetuner.state.settings.mode === %q`, mode), 5*time.Second, "the mode")
}

// demoPixels decodes the first photo of each demo class to size×size RGBA (nearest pixel).
func demoPixels(t *testing.T, demo demoSet, size int) [][]byte {
	t.Helper()
	var out [][]byte
	for _, fs := range demo.files {
		b, err := os.ReadFile(fs[0])
		if err != nil {
			t.Fatal(err)
		}
		rgba, w, h, err := imagefile.Decode(b)
		if err != nil {
			t.Fatal(err)
		}
		px := make([]byte, size*size*4)
		for y := 0; y < size; y++ {
			for x := 0; x < size; x++ {
				copy(px[4*(y*size+x):4*(y*size+x)+4], rgba[4*((y*h/size)*w+x*w/size):])
			}
		}
		out = append(out, px)
	}
	return out
}

// pagePredict runs each image through the page's trainer (predict) and returns the probabilities.
func pagePredict(t *testing.T, ctx context.Context, pix [][]byte) [][]float64 {
	t.Helper()
	var out [][]float64
	for _, p := range pix {
		expr := fmt.Sprintf(`(async () => { const b = Uint8Array.from(atob(%q), (c) => c.charCodeAt(0)); return [...await window.finetuner.trainer.predict(b.buffer, 224)]; })()`, base64.StdEncoding.EncodeToString(p))
		out = append(out, js[[]float64](t, ctx, expr))
	}
	return out
}

func goPredict(t *testing.T, m *backbone.Model, hm *head.Model, rgba []byte) []float64 {
	t.Helper()
	feat := make([]float32, m.Dim())
	if err := m.Features(feat, rgba, 224, 224); err != nil {
		t.Fatal(err)
	}
	p := make([]float32, hm.C)
	if err := hm.Predict(p, feat, 1); err != nil {
		t.Fatal(err)
	}
	out := make([]float64, len(p))
	for i, v := range p {
		out[i] = float64(v)
	}
	return out
}

// measureModes trains every mode on both backbones on the demo set (same split, seed 1, 20%
// validation) and logs the time and validation accuracy of each, with the frozen probe's.
func measureModes(t *testing.T, ctx context.Context) {
	for _, id := range []string{"centernet", "mobilenetv2"} {
		js[any](t, ctx, fmt.Sprintf(`(() => { const s = document.getElementById('backbone'); s.value = %q; s.dispatchEvent(new Event('change')); })()`, id))
		waitFor(t, ctx, fmt.Sprintf(`window.finetuner.state.backbone && window.finetuner.state.backbone.id === %q && window.finetuner.extraction().queued === 0 && window.finetuner.extraction().inflight === 0 && [...window.finetuner.state.samples.values()].every(s => s.featKey === %q)`, id, id), 600*time.Second, "the features of "+id)
		for _, mode := range []string{"deep", "mid", "finetune1", "finetune2"} {
			setMode(t, ctx, mode, 15)
			t0 := time.Now()
			js[any](t, ctx, `window.finetuner.state.report = null; document.getElementById('train-btn').click()`)
			waitFor(t, ctx, `window.finetuner.state.training === false && window.finetuner.state.report !== null`, 1200*time.Second, mode+" on "+id)
			r := js[map[string]any](t, ctx, `(() => { const r = window.finetuner.state.report; return {valAcc: r.valAcc, probe: r.probeValAcc ?? null, epochs: r.epochs, best: r.bestEpoch, nVal: r.nVal}; })()`)
			t.Logf("MEASURE %s %s: %.1f s, val acc %.1f%% (frozen probe on the same split %v), %v epochs, best %v, %v val photos", id, mode, time.Since(t0).Seconds(), 100*r["valAcc"].(float64), r["probe"], r["epochs"], r["best"], r["nVal"])
		}
	}
}
