//go:build !js

// Package e2e drives the built app in headless Chromium: the whole flow a person goes through,
// checked from outside (DOM, screenshots, NetLog). It runs only with FINETUNER_E2E=1 (see
// scripts/test-browser.sh, which builds the site first), so `go test ./...` stays fast.
package e2e

import (
	"archive/zip"
	"context"
	"encoding/binary"
	"encoding/json"
	"image"
	"image/color"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"finetuner/head"
	"finetuner/kernels"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// longTaskObserver records every long task (over 50 ms) on the page's main thread, including
// those of its same-origin plot frame, which shares that thread.
const longTaskObserver = `
window.__longtasks = [];
try {
  new PerformanceObserver((l) => { for (const e of l.getEntries()) window.__longtasks.push({start: e.startTime, dur: e.duration, name: e.name + ' ' + (e.attribution || []).map(a => a.containerType + ':' + a.containerSrc).join()}); })
    .observe({type: 'longtask', buffered: true});
} catch (e) {}`

func TestApp(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-browser.sh", "public/build/trainer.wasm", "public/build/plot.wasm", "public/build/assets.json", "public/models/manifest.json", "public/demo/manifest.json")
	out := e2eOut(t)
	downloads := filepath.Join(out, "downloads")
	os.RemoveAll(downloads)
	os.MkdirAll(downloads, 0o755)
	netlog := filepath.Join(out, "netlog.json")

	srv := startServer(t, root)
	ctx, cancel := startBrowser(t, exe, netlog, downloads)
	defer cancel()
	start := time.Now()
	step := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }

	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (any, error) {
		if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: longTaskObserver}); err != nil {
			return nil, err
		}
		_, err := chromedp.Call(ctx, browser.SetDownloadBehavior, browser.SetDownloadBehaviorParams{
			Behavior: browser.SetDownloadBehaviorBehaviorAllow, DownloadPath: downloads,
		})
		return nil, err
	})
	if err != nil {
		t.Fatalf("setting up the page: %v", err)
	}

	step("open the app")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	ready := `document.body.dataset.ready === '1' && window.finetuner.state.backbone !== null`
	waitFor(t, ctx, ready, 90*time.Second, "the app and its backbone to load")
	noErrors(t, ctx, "after load")
	mustf(t, js[int](t, ctx, `window.finetuner.state.classes.length`) == 2, "a new project starts with two classes")

	step("classes: add, rename, reorder, delete")
	js[any](t, ctx, `document.getElementById('add-class').click()`)
	waitFor(t, ctx, `document.querySelectorAll('#classes > li').length === 3`, 5*time.Second, "a third class card")
	js[any](t, ctx, `(() => { const n = document.querySelectorAll('#classes .name')[2]; n.value = 'webcam'; n.dispatchEvent(new Event('change')); })()`)
	waitFor(t, ctx, `window.finetuner.state.classes[2].name === 'webcam'`, 5*time.Second, "the rename")
	js[any](t, ctx, `document.querySelectorAll('#classes .up')[2].click()`)
	waitFor(t, ctx, `window.finetuner.state.classes[1].name === 'webcam'`, 5*time.Second, "the move up")
	// Delete "Class 1" (two clicks: the first arms the button).
	js[any](t, ctx, `(() => { const b = document.querySelectorAll('#classes .del')[0]; b.click(); b.click(); })()`)
	waitFor(t, ctx, `window.finetuner.state.classes.map(c => c.name).join() === 'webcam,Class 2'`, 5*time.Second, "the deletion")

	step("load the demo set")
	js[any](t, ctx, `document.getElementById('load-demo').click()`)
	demo := readDemo(t, root)
	waitFor(t, ctx, `window.finetuner.state.samples.size >= `+itoa(demo.total), 120*time.Second, "the demo images")
	for _, c := range demo.names {
		mustf(t, js[bool](t, ctx, `window.finetuner.state.classes.some(c => c.name === '`+c+`')`), "demo class %s missing", c)
	}

	step("upload files to a class")
	files := demo.files[len(demo.files)-1][:3]
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.CSS(`#classes > li:nth-child(2) input.upload`), files)); err != nil {
		t.Fatalf("upload: %v", err)
	}
	waitFor(t, ctx, `[...window.finetuner.state.samples.values()].filter(s => s.classId === window.finetuner.state.classes[1].id).length === 3`, 20*time.Second, "3 uploaded samples in Class 2")
	// The card redraws on the next animation frame.
	waitFor(t, ctx, `document.querySelectorAll('#classes > li:nth-child(2) .thumb .x').length === 3`, 10*time.Second, "3 thumbnails in Class 2")

	step("delete a sample, drop a file on a class")
	js[any](t, ctx, `document.querySelector('#classes > li:nth-child(2) .thumb .x').click()`)
	waitFor(t, ctx, `[...window.finetuner.state.samples.values()].filter(s => s.classId === window.finetuner.state.classes[1].id).length === 2`, 10*time.Second, "the sample deletion")
	js[any](t, ctx, `fetch('public/demo/`+demo.rel[len(demo.rel)-1][5]+`').then(r => r.blob()).then(b => {
	  const dt = new DataTransfer();
	  dt.items.add(new File([b], 'dropped.png', {type: 'image/png'}));
	  document.querySelector('#classes > li:nth-child(2)').dispatchEvent(new DragEvent('drop', {dataTransfer: dt, bubbles: true, cancelable: true}));
	})`)
	waitFor(t, ctx, `[...window.finetuner.state.samples.values()].filter(s => s.classId === window.finetuner.state.classes[1].id).length === 3`, 20*time.Second, "the dropped file in Class 2")
	// A dropped folder tree: one class per subfolder (the grouping the drop handler uses).
	groups := js[string](t, ctx, `import('./js/images.js').then(m => {
	  const f = (n, type) => new File(['x'], n, {type});
	  const g = m.groupByFolder([{file: f('a.png', 'image/png'), path: 'pets/cats'}, {file: f('b.jpg', ''), path: 'pets/cats'},
	    {file: f('c.png', 'image/png'), path: 'pets/dogs'}, {file: f('notes.txt', 'text/plain'), path: 'pets/dogs'}]);
	  return JSON.stringify([...g].map(([k, v]) => [k, v.length]));
	})`)
	mustf(t, groups == `[["cats",2],["dogs",1]]`, "a dropped folder pets/{cats,dogs} grouped as %s", groups)

	step("record from the fake webcam")
	js[any](t, ctx, `document.querySelector('#classes > li:nth-child(1) .rec').dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}))`)
	waitFor(t, ctx, `[...window.finetuner.state.samples.values()].filter(s => s.classId === window.finetuner.state.classes[0].id).length >= 6`, 30*time.Second, "6 webcam frames")
	js[any](t, ctx, `document.querySelector('#classes > li:nth-child(1) .rec').dispatchEvent(new PointerEvent('pointerup', {bubbles: true}))`)
	js[any](t, ctx, `document.getElementById('cam-toggle').click()`)
	time.Sleep(time.Second) // a frame being captured as the button was released still lands

	step("extract features")
	waitFor(t, ctx, `[...window.finetuner.state.samples.values()].every(s => s.feat && s.feat.length === window.finetuner.state.backbone.dim)`, 240*time.Second, "features for every sample")
	waitFor(t, ctx, `window.finetuner.extraction().queued === 0 && window.finetuner.extraction().inflight === 0`, 30*time.Second, "the extraction queue to drain")
	mustf(t, strings.Contains(js[string](t, ctx, `document.getElementById('extract-text').textContent`), "images/s"), "the extraction progress shows images/s")
	// A long queue is shared with helper workers (one fewer than the cores, up to 3): each must
	// have done some of it, and give the same bits as the trainer for the same image. The demo
	// set's queue is only long when the page decodes faster than the trainer extracts; where the
	// (SIMD128) trainer keeps up alone, no helper starts, and the augmentation step below, which
	// queues every photo at once, checks them instead.
	workers := js[string](t, ctx, `JSON.stringify(window.finetuner.extraction().workers)`)
	t.Logf("extraction workers (cores %d): %s; %s", js[int](t, ctx, `navigator.hardwareConcurrency`), workers, js[string](t, ctx, `document.getElementById('extract-text').textContent`))
	checkHelpers := func() {
		mustf(t, js[bool](t, ctx, `window.finetuner.extraction().workers.length >= 2 && window.finetuner.extraction().workers.every(w => w.done > 0)`), "a helper worker did no extraction: %s", js[string](t, ctx, `JSON.stringify(window.finetuner.extraction().workers)`))
		same := js[string](t, ctx, `(async () => {
		  const ex = window.finetuner.extractors, size = window.finetuner.state.backbone.inputSize;
		  const px = new Uint8Array(size * size * 4).map((_, i) => (i * 37 + (i >> 9)) & 255);
		  const a = await ex[0].t.extract(px.slice().buffer, size);
		  const b = await ex[1].t.extract(px.slice().buffer, size);
		  return a.length === b.length && a.every((v, i) => Object.is(v, b[i])) ? 'same' : 'differ at ' + a.findIndex((v, i) => v !== b[i]);
		})()`)
		mustf(t, same == "same", "the helper's features differ from the trainer's: %s", same)
	}
	helpersLater := false
	if js[int](t, ctx, `navigator.hardwareConcurrency`) >= 2 {
		if js[int](t, ctx, `window.finetuner.extractors.length`) >= 2 {
			checkHelpers()
		} else {
			helpersLater = true
			t.Logf("the trainer kept up with the demo set alone (no queue for helpers): helpers are checked on the augmentation's queue")
		}
	}
	noErrors(t, ctx, "after extraction")

	step("train: automatic linear probe (the default)")
	mustf(t, js[bool](t, ctx, `document.getElementById('settings').elements.auto.checked`), "auto mode is the default")
	js[any](t, ctx, `document.getElementById('train-btn').click()`)
	waitFor(t, ctx, `window.finetuner.state.training === false && window.finetuner.state.report !== null`, 180*time.Second, "the automatic probe to finish")
	autoAcc := js[float64](t, ctx, `window.finetuner.state.report.valAcc`)
	t.Logf("automatic probe: val acc %.3f, L2 %.0e", autoAcc, js[float64](t, ctx, `window.finetuner.state.report.lambda`))
	mustf(t, js[int](t, ctx, `window.finetuner.plot.eventList().filter(e => e.kind === 'trial').length`) >= 3, "the probe's trials reached the plot")
	noErrors(t, ctx, "after the automatic probe")

	step("train with augmentation: mirror views, split by photo")
	js[any](t, ctx, `(() => { const f = document.getElementById('settings').elements;
	  f.augment.value = 'flip'; f.augment.dispatchEvent(new Event('change', {bubbles: true})); })()`)
	if helpersLater {
		waitFor(t, ctx, `window.finetuner.extraction().workers.length >= 2 && window.finetuner.extraction().workers.every(w => w.done > 0)`, 120*time.Second, "a helper at work on the augmentation's queue")
		checkHelpers()
	}
	if js[int](t, ctx, `window.finetuner.extractors.length`) >= 2 {
		// A helper that dies mid-queue hands its images back: every sample still gets its views,
		// and no error is shown.
		waitFor(t, ctx, `window.finetuner.extractors.length < 2 || window.finetuner.extractors[1].busy > 0`, 60*time.Second, "a helper at work")
		n := js[int](t, ctx, `window.finetuner.extractors.length`)
		mustf(t, js[bool](t, ctx, `(() => { const w = window.finetuner.extractors[1]; w.t.fail(new Error('killed by the test')); return !window.finetuner.extractors.includes(w); })()`), "the failed helper is still in use")
		time.Sleep(500 * time.Millisecond)
		mustf(t, js[int](t, ctx, `window.finetuner.extractors.length`) == n-1, "the failed helper was replaced (%d workers, was %d)", js[int](t, ctx, `window.finetuner.extractors.length`), n)
	}
	js[any](t, ctx, `document.getElementById('train-btn').click()`)
	waitFor(t, ctx, `window.finetuner.state.training === false && window.finetuner.state.rowIds.length > window.finetuner.state.samples.size`, 300*time.Second, "the probe on augmented features")
	noErrors(t, ctx, "after training with augmentation")
	var aug struct {
		Photos, Rows, NTrain, NVal, Dim int
		ViewsOK, ValPlain               bool
	}
	json.Unmarshal([]byte(js[string](t, ctx, `(() => { const st = window.finetuner.state, r = st.report, ids = st.rowIds;
	  const photos = st.samples.size;
	  return JSON.stringify({Photos: photos, Rows: ids.length, NTrain: r.nTrain, NVal: r.nVal, Dim: st.backbone.dim,
	    ViewsOK: [...st.samples.values()].every(s => s.aug && s.aug.length === st.backbone.dim),
	    ValPlain: r.valIndex.every(i => i < photos) }); })()`)), &aug)
	t.Logf("augmentation: %d photos → %d rows; train %d rows, val %d rows", aug.Photos, aug.Rows, aug.NTrain, aug.NVal)
	mustf(t, aug.ViewsOK, "not every sample got its mirror view")
	mustf(t, aug.Rows == 2*aug.Photos, "%d rows for %d photos with mirror views, want %d", aug.Rows, aug.Photos, 2*aug.Photos)
	mustf(t, aug.ValPlain, "validation scored an augmented row")
	mustf(t, aug.NTrain == 2*(aug.Photos-aug.NVal), "train has %d rows; want both views of the %d training photos", aug.NTrain, aug.Photos-aug.NVal)
	mustf(t, strings.Contains(js[string](t, ctx, `document.getElementById('train-status').textContent`), "val acc"), "the status after training with augmentation")
	js[any](t, ctx, `(() => { const f = document.getElementById('settings').elements;
	  f.augment.value = 'none'; f.augment.dispatchEvent(new Event('change', {bubbles: true})); })()`)

	step("train: long MLP run, pause, resume, stop")
	js[any](t, ctx, `(() => { const f = document.getElementById('settings').elements;
	  f.auto.checked = false; f.head.value = 'mlp'; f.hidden.value = 64; f.epochs.value = 1000; f.batch.value = 8; f.lr.value = 0.001; f.val.value = 0.25; f.early.checked = false;
	  f.auto.dispatchEvent(new Event('change', {bubbles: true})); })()`)
	epochCount := `window.finetuner.plot.eventList().filter(e => e.kind === 'epoch').length`
	t0 := js[float64](t, ctx, `performance.now()`)
	js[any](t, ctx, `document.getElementById('train-btn').click()`)
	waitFor(t, ctx, epochCount+` >= 20`, 60*time.Second, "20 epochs")
	js[any](t, ctx, `document.getElementById('pause-btn').click()`)
	// Events already on their way still arrive: wait until the count holds for a second, then
	// it must hold for two more.
	n1, n2 := js[int](t, ctx, epochCount), -1
	for i := 0; i < 10 && n1 != n2; i++ {
		time.Sleep(time.Second)
		n1, n2 = js[int](t, ctx, epochCount), n1
	}
	time.Sleep(2 * time.Second)
	n2 = js[int](t, ctx, epochCount)
	mustf(t, n1 == n2 && n1 < 1000, "training went on while paused: %d → %d epochs", n1, n2)
	mustf(t, strings.HasPrefix(js[string](t, ctx, `document.getElementById('train-status').textContent`), "paused"), "the status does not say paused")
	mustf(t, js[string](t, ctx, `document.getElementById('pause-btn').textContent`) == "Resume", "the pause button does not offer Resume")
	js[any](t, ctx, `document.getElementById('pause-btn').click()`)
	waitFor(t, ctx, epochCount+` > `+itoa(n2+5), 30*time.Second, "training to resume")
	js[any](t, ctx, `document.getElementById('stop-btn').click()`)
	waitFor(t, ctx, `window.finetuner.state.training === false`, 30*time.Second, "the stop")
	t1 := js[float64](t, ctx, `performance.now()`)
	mustf(t, js[bool](t, ctx, `window.finetuner.state.report.stopped === true`), "the report does not say the run was stopped")
	stoppedAt := js[int](t, ctx, epochCount)
	t.Logf("paused at %d epochs, stopped at %d of 1000", n1, stoppedAt)
	mustf(t, stoppedAt < 1000, "stop did not stop the run")
	noErrors(t, ctx, "after pause/resume/stop")

	// The page thread must stay free while the worker trains: no long task (> 50 ms), the plot
	// frame's included. A loaded machine can stall any thread now and then, so a run with long
	// tasks is repeated (up to five runs of about 3 s); a plot or page that is slow by design
	// fails all five.
	for attempt := 1; ; attempt++ {
		during := longTasks(t, ctx, t0, t1)
		t.Logf("long tasks on the page thread during %.1f s of training (run %d): %v; plot draw times (ms): %s",
			(t1-t0)/1000, attempt, during, js[string](t, ctx, `JSON.stringify(window.finetuner.plot.drawTimes.slice(-30))`))
		if len(during) == 0 {
			break
		}
		mustf(t, attempt < 5, "the page thread had long tasks (>50 ms) during training in 5 runs; the last: %v ms", during)
		t0 = js[float64](t, ctx, `performance.now()`)
		js[any](t, ctx, `document.getElementById('train-btn').click()`)
		waitFor(t, ctx, epochCount+` >= 20`, 60*time.Second, "20 epochs")
		time.Sleep(2 * time.Second)
		js[any](t, ctx, `document.getElementById('stop-btn').click()`)
		waitFor(t, ctx, `window.finetuner.state.training === false`, 30*time.Second, "the stop")
		t1 = js[float64](t, ctx, `performance.now()`)
	}

	step("train: MLP head to completion")
	js[any](t, ctx, `(() => { const f = document.getElementById('settings').elements;
	  f.hidden.value = 32; f.epochs.value = 60; f.batch.value = 16; f.lr.value = 0.003; f.early.checked = true;
	  f.auto.dispatchEvent(new Event('change', {bubbles: true})); })()`)
	js[any](t, ctx, `document.getElementById('train-btn').click()`)
	waitFor(t, ctx, `window.finetuner.state.training === false && window.finetuner.state.report !== null && !window.finetuner.state.report.stopped`, 180*time.Second, "training to finish")
	noErrors(t, ctx, "after training")

	var epochs []struct {
		Epoch     int     `json:"epoch"`
		TrainLoss float64 `json:"trainLoss"`
		ValLoss   float64 `json:"valLoss"`
		ValAcc    float64 `json:"valAcc"`
	}
	raw := js[string](t, ctx, `JSON.stringify(window.finetuner.plot.eventList().filter(e => e.kind === 'epoch'))`)
	if err := json.Unmarshal([]byte(raw), &epochs); err != nil {
		t.Fatal(err)
	}
	mustf(t, len(epochs) >= 5, "expected ≥5 epoch events on the plot, got %d", len(epochs))
	first, last := epochs[0], epochs[len(epochs)-1]
	t.Logf("loss %.3f → %.3f over %d epochs, val acc %.3f", first.TrainLoss, last.TrainLoss, len(epochs), last.ValAcc)
	mustf(t, last.TrainLoss < 0.7*first.TrainLoss, "training loss did not fall: %.4f → %.4f", first.TrainLoss, last.TrainLoss)

	step("evaluation: confusion matrix, per-class, gallery")
	var rep struct {
		Labels    []string `json:"labels"`
		Confusion [][]int  `json:"confusion"`
		ValAcc    float64  `json:"valAcc"`
		ValIndex  []int    `json:"valIndex"`
	}
	json.Unmarshal([]byte(js[string](t, ctx, `JSON.stringify(window.finetuner.state.report)`)), &rep)
	nc := js[int](t, ctx, `window.finetuner.state.classes.length`)
	mustf(t, len(rep.Labels) == nc && len(rep.Confusion) == nc, "report has %d labels, %d confusion rows; want %d", len(rep.Labels), len(rep.Confusion), nc)
	sum, diag := 0, 0
	for i, row := range rep.Confusion {
		for j, v := range row {
			sum += v
			if i == j {
				diag += v
			}
		}
	}
	mustf(t, sum == len(rep.ValIndex) && sum > 0, "confusion matrix counts %d, validation set has %d rows", sum, len(rep.ValIndex))
	mustf(t, abs(int(1000*float64(diag)/float64(sum))-int(1000*rep.ValAcc)) <= 1, "val acc %.3f disagrees with the confusion matrix diagonal %d/%d", rep.ValAcc, diag, sum)
	mustf(t, rep.ValAcc > 0.5, "validation accuracy %.3f is no better than chance on the demo set", rep.ValAcc)
	mustf(t, js[int](t, ctx, `document.querySelectorAll('#per-class tbody tr').length`) == nc, "per-class table rows")
	misImgs := js[int](t, ctx, `document.querySelectorAll('#mis-gallery figure').length`)
	mustf(t, misImgs == sum-diag, "gallery shows %d misclassified samples, the matrix has %d", misImgs, sum-diag)

	// The plot frame draws the report too; give it a frame, then look at it.
	waitFor(t, ctx, `window.finetuner.plot.drawn && window.finetuner.plot.drawn.points > 0`, 20*time.Second, "the plot to draw")
	js[any](t, ctx, `window.finetuner.plot.setOptions({view: 'curves'})`)
	time.Sleep(800 * time.Millisecond)
	pageImg := screenshot(t, ctx, "", filepath.Join(out, "page-trained.png"))
	checkPage(t, pageImg)
	plotImg := screenshot(t, ctx, "#plot", filepath.Join(out, "plot-curves.png"))
	checkCurves(t, plotImg)
	js[any](t, ctx, `window.finetuner.plot.setOptions({view: 'eval'})`)
	time.Sleep(800 * time.Millisecond)
	checkEval(t, screenshot(t, ctx, "#plot", filepath.Join(out, "plot-eval.png")))
	// The frame resizes with its box: 320 px wide (tabs), and the whole window (all four panels).
	js[any](t, ctx, `window.finetuner.plot.setOptions({view: 'curves'}); document.getElementById('plot').style.cssText = 'width: 320px; height: 260px'`)
	time.Sleep(1500 * time.Millisecond)
	checkCurves(t, screenshot(t, ctx, "#plot", filepath.Join(out, "plot-320.png")))
	js[any](t, ctx, `window.finetuner.plot.setOptions({view: ''}); document.getElementById('plot').style.cssText = 'position: fixed; inset: 0; width: 100vw; height: 100vh; z-index: 10; margin: 0'`)
	time.Sleep(1500 * time.Millisecond)
	full := screenshot(t, ctx, "#plot", filepath.Join(out, "plot-full.png"))
	checkCurves(t, full)
	checkEval(t, full)
	js[any](t, ctx, `document.getElementById('plot').style.cssText = ''`)

	step("live prediction from a file")
	predFile := demo.files[0][0]
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("preview-file"), []string{predFile})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelectorAll('#probs li').length === `+itoa(nc), 30*time.Second, "class probability bars")
	probSum := js[float64](t, ctx, `[...document.querySelectorAll('#probs .p')].reduce((a, e) => a + parseFloat(e.textContent), 0)`)
	mustf(t, probSum > 99 && probSum < 101, "probabilities add up to %.1f%%", probSum)

	step("live prediction from the webcam")
	js[any](t, ctx, `document.getElementById('preview-cam').click()`)
	waitFor(t, ctx, `/predicted in/.test(document.getElementById('preview-status').textContent) && document.getElementById('cam-video').srcObject`, 30*time.Second, "a webcam prediction")
	js[any](t, ctx, `document.getElementById('preview-cam').click(); document.getElementById('cam-toggle').click()`)

	step("export and re-import the head")
	js[any](t, ctx, `document.getElementById('export-head').click()`)
	headFile := waitDownload(t, downloads, ".safetensors", 20*time.Second)
	checkSafetensors(t, headFile)
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("import-head"), []string{headFile})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `/head imported/.test(document.getElementById('io-status').textContent)`, 20*time.Second, "the head import")
	badHeads(t, ctx, out)

	step("export the whole model for TF.js")
	js[any](t, ctx, `document.getElementById('export-tfjs').click()`)
	checkTFJSZip(t, waitDownload(t, downloads, "-tfjs.zip", 30*time.Second), js[[]string](t, ctx, `window.finetuner.state.headInfo.labels`))
	waitFor(t, ctx, `/model exported for TF.js/.test(document.getElementById('io-status').textContent)`, 10*time.Second, "the export's status")
	js[any](t, ctx, `document.getElementById('export-onnx').click()`)
	onnx, err := os.ReadFile(waitDownload(t, downloads, ".onnx", 30*time.Second))
	mustf(t, err == nil && len(onnx) > 1e6 && strings.Contains(string(onnx[:4096]), "probabilities"), "ONNX export: %d bytes, %v", len(onnx), err)
	waitFor(t, ctx, `/model exported for ONNX/.test(document.getElementById('io-status').textContent)`, 10*time.Second, "the ONNX export's status")

	step("export the project, wipe, import it back")
	before := projectSummary(t, ctx)
	curves := js[float64](t, ctx, `window.finetuner.state.curves.length`)
	mustf(t, curves >= 2, "no training curves to export: %v messages", curves)
	// With the images, so that the backbone change below can re-extract.
	js[any](t, ctx, `document.getElementById('export-raw').checked = true; document.getElementById('export-project').click()`)
	projFile := waitDownload(t, downloads, ".ftproj", 20*time.Second)
	bad := filepath.Join(out, "bad.ftproj")
	os.WriteFile(bad, []byte("FTPROJ\x00\x01garbage"), 0o644)
	js[any](t, ctx, `document.getElementById('errors').replaceChildren()`)
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("import-project"), []string{bad})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `/Not a valid project file/.test(document.getElementById('errors').innerText)`, 10*time.Second, "a clear error for a corrupt project file")
	js[any](t, ctx, `document.getElementById('errors').replaceChildren()`)
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("import-project"), []string{projFile})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `/project imported/.test(document.getElementById('io-status').textContent)`, 60*time.Second, "the project import")
	after := projectSummary(t, ctx)
	mustf(t, after == before, "project changed through export/import:\n before %s\n after  %s", before, after)
	mustf(t, js[float64](t, ctx, `window.finetuner.state.curves.length`) == curves, "the project's training curves did not come back")
	waitFor(t, ctx, `window.finetuner.plot.drawn && window.finetuner.plot.drawn.points > 0`, 20*time.Second, "the imported project's curves drawn")
	noErrors(t, ctx, "after project import")

	step("reload: the project is intact")
	waitFor(t, ctx, `document.getElementById('chip-storage').textContent === 'saved'`, 10*time.Second, "autosave")
	time.Sleep(500 * time.Millisecond)
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, ready, 90*time.Second, "the app to reload")
	reloaded := projectSummary(t, ctx)
	mustf(t, reloaded == before, "project changed through a reload:\n before %s\n after  %s", before, reloaded)

	step("offline: stop the server and reload")
	waitFor(t, ctx, `navigator.serviceWorker.controller !== null && document.getElementById('chip-offline').textContent === 'works offline'`, 60*time.Second, "the service worker")
	srv.stop()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, ready, 90*time.Second, "the app to load with the server gone")
	offline := projectSummary(t, ctx)
	mustf(t, offline == before, "project differs offline: %s", offline)
	if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("preview-file"), []string{predFile})); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `/predicted in/.test(document.getElementById('preview-status').textContent)`, 30*time.Second, "a prediction offline")
	waitFor(t, ctx, `window.finetuner.plot.drawn !== null`, 20*time.Second, "the plot offline")
	screenshot(t, ctx, "", filepath.Join(out, "page-offline.png"))

	step("change the backbone (offline): re-extract, train again")
	other := js[string](t, ctx, `window.finetuner.state.backbones.map(b => b.id).find(id => id !== window.finetuner.state.backboneId) || ''`)
	if other == "" {
		t.Log("only one backbone built; skipping the backbone change")
	} else {
		js[any](t, ctx, `(() => { const s = document.getElementById('backbone'); s.value = '`+other+`'; s.dispatchEvent(new Event('change')); })()`)
		waitFor(t, ctx, `window.finetuner.state.backbone && window.finetuner.state.backbone.id === '`+other+`'`, 120*time.Second, "the other backbone to load")
		dim2 := js[int](t, ctx, `window.finetuner.state.backbone.dim`)
		waitFor(t, ctx, `[...window.finetuner.state.samples.values()].every(s => s.featKey === '`+other+`' && s.feat.length === `+itoa(dim2)+`)`, 400*time.Second, "re-extraction with "+other)
		js[any](t, ctx, `(() => { const f = document.getElementById('settings').elements; f.auto.checked = true; f.auto.dispatchEvent(new Event('change', {bubbles: true})); document.getElementById('train-btn').click(); })()`)
		waitFor(t, ctx, `window.finetuner.state.training === false && window.finetuner.state.report && window.finetuner.state.headInfo.backbone === '`+other+`'`, 180*time.Second, "training on "+other)
		acc2 := js[float64](t, ctx, `window.finetuner.state.report.valAcc`)
		t.Logf("backbone %s (%d-d): val acc %.3f", other, dim2, acc2)
		mustf(t, acc2 > 0.4, "validation accuracy %.3f on %s", acc2, other)
		noErrors(t, ctx, "after the backbone change")
		screenshot(t, ctx, "", filepath.Join(out, "page-backbone2.png"))
	}

	step("no request left the origin")
	cancel()
	time.Sleep(500 * time.Millisecond)
	origin := strings.TrimSuffix(srv.URL, "/")
	reqs := netlogRequests(t, netlog)
	local, browserOwn := 0, 0
	for _, r := range reqs {
		switch {
		case r.initiator == "not an origin" && !strings.HasPrefix(r.url, origin+"/"):
			// The browser's own background traffic (updater, sign-in, autofill): not the page's.
			browserOwn++
		case strings.HasPrefix(r.url, origin+"/"), strings.HasPrefix(r.url, "blob:"+origin), strings.HasPrefix(r.url, "data:"):
			local++
		default:
			t.Errorf("a request left the origin: %s (initiated by %s)", r.url, r.initiator)
		}
	}
	mustf(t, local > 20, "the NetLog saw only %d requests to the app (is it logging?)", local)
	t.Logf("NetLog: %d requests by the app, all to %s; %d by the browser itself", local, origin, browserOwn)
}

// longTasks returns the durations of the page thread's long tasks that started between t0 and
// t1 (page clock, ms), logging where each came from.
func longTasks(t *testing.T, ctx context.Context, t0, t1 float64) []float64 {
	var longs []struct {
		Start, Dur float64
		Name       string
	}
	json.Unmarshal([]byte(js[string](t, ctx, `JSON.stringify(window.__longtasks)`)), &longs)
	var during []float64
	for _, l := range longs {
		if l.Start >= t0 && l.Start <= t1 {
			during = append(during, l.Dur)
			t.Logf("long task at %+.0f ms: %.0f ms (%s)", l.Start-t0, l.Dur, l.Name)
		}
	}
	return during
}

func itoa(n int) string { return strings.TrimSpace(strings.Repeat(" ", 0) + jsonNum(n)) }

func jsonNum(n int) string { b, _ := json.Marshal(n); return string(b) }

type demoSet struct {
	names []string
	files [][]string // absolute paths
	rel   [][]string // paths under public/demo
	total int
}

func readDemo(t *testing.T, root string) demoSet {
	b, err := os.ReadFile(filepath.Join(root, "public/demo/manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m struct {
		Classes []struct {
			Name  string   `json:"name"`
			Files []string `json:"files"`
		} `json:"classes"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	var d demoSet
	for _, c := range m.Classes {
		d.names = append(d.names, c.Name)
		var fs []string
		for _, f := range c.Files {
			fs = append(fs, filepath.Join(root, "public/demo", f))
		}
		d.files = append(d.files, fs)
		d.rel = append(d.rel, c.Files)
		d.total += len(fs)
	}
	if len(d.names) < 2 || d.total < 8 {
		t.Fatalf("demo set too small: %d classes, %d images", len(d.names), d.total)
	}
	return d
}

// projectSummary is what must survive export/import and reload: class names in order, samples
// per class, features present, the head's labels.
func projectSummary(t *testing.T, ctx context.Context) string {
	return js[string](t, ctx, `(() => { const s = window.finetuner.state;
	  const per = s.classes.map(c => { const ss = [...s.samples.values()].filter(x => x.classId === c.id);
	    return c.name + ':' + ss.length + ':' + ss.filter(x => x.feat).length; });
	  return per.join(',') + ' | head ' + (s.headInfo ? s.headInfo.labels.join('/') : 'none') + ' | ' + s.backboneId; })()`)
}

func waitDownload(t *testing.T, dir, ext string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir(dir)
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ext) {
				p := filepath.Join(dir, e.Name())
				if fi, err := os.Stat(p); err == nil && fi.Size() > 0 {
					time.Sleep(300 * time.Millisecond)
					return p
				}
			}
		}
		time.Sleep(200 * time.Millisecond)
	}
	t.Fatalf("no %s download in %s after %v", ext, dir, timeout)
	return ""
}

// checkTFJSZip opens the page's TF.js export: model.json with the labels in its metadata and
// the probabilities output, and every weight file its manifest names, of the size it declares.
// tools/exportcheck runs such exports in TensorFlow.js.
func checkTFJSZip(t *testing.T, path string, labels []string) {
	t.Helper()
	zr, err := zip.OpenReader(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer zr.Close()
	files := map[string][]byte{}
	for _, f := range zr.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		files[f.Name], _ = io.ReadAll(r)
		r.Close()
	}
	var mj struct {
		Format   string `json:"format"`
		Manifest []struct {
			Paths   []string `json:"paths"`
			Weights []struct {
				Shape        []int           `json:"shape"`
				Dtype        string          `json:"dtype"`
				Quantization json.RawMessage `json:"quantization"`
			} `json:"weights"`
		} `json:"weightsManifest"`
		Signature struct {
			Outputs map[string]any `json:"outputs"`
		} `json:"signature"`
		Meta struct {
			Finetuner struct {
				Labels []string `json:"labels"`
			} `json:"finetuner"`
		} `json:"userDefinedMetadata"`
	}
	if err := json.Unmarshal(files["model.json"], &mj); err != nil {
		t.Fatalf("%s: model.json: %v", path, err)
	}
	mustf(t, mj.Format == "graph-model" && mj.Signature.Outputs["probabilities"] != nil, "TF.js export: format %q, outputs %v", mj.Format, mj.Signature.Outputs)
	mustf(t, strings.Join(mj.Meta.Finetuner.Labels, ",") == strings.Join(labels, ","), "TF.js export labels %v, page %v", mj.Meta.Finetuner.Labels, labels)
	for _, g := range mj.Manifest {
		var have, want int
		for _, p := range g.Paths {
			mustf(t, files[p] != nil, "TF.js export: %s is missing", p)
			have += len(files[p])
		}
		for _, w := range g.Weights {
			n := 1
			for _, d := range w.Shape {
				n *= d
			}
			size := 4
			if len(w.Quantization) > 0 {
				var q struct{ Dtype string }
				json.Unmarshal(w.Quantization, &q)
				size = map[string]int{"float16": 2, "uint16": 2, "uint8": 1}[q.Dtype]
			}
			want += n * size
		}
		mustf(t, have == want, "TF.js export: weight files %v hold %d bytes, the manifest %d", g.Paths, have, want)
	}
	t.Logf("TF.js export: %s, %d files, labels %v", filepath.Base(path), len(files), labels)
}

// checkSafetensors reads the header of a .safetensors file: 8-byte little-endian length, JSON
// with tensors and a __metadata__ block holding the labels.
func checkSafetensors(t *testing.T, path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	mustf(t, len(b) > 8, "head file too short")
	n := binary.LittleEndian.Uint64(b[:8])
	mustf(t, n > 2 && int(n) <= len(b)-8, "head header length %d in a %d-byte file", n, len(b))
	var h map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &h); err != nil {
		t.Fatalf("head header is not JSON: %v", err)
	}
	meta, ok := h["__metadata__"]
	mustf(t, ok, "head file has no __metadata__")
	mustf(t, strings.Contains(string(meta), "birds"), "head metadata lacks the class labels: %s", meta)
	t.Logf("head file: %d bytes, %d header entries", len(b), len(h))
}

func checkPage(t *testing.T, img image.Image) {
	st := stats(img, img.Bounds())
	t.Logf("page screenshot %v: %d distinct colours, %.1f%% dark", img.Bounds().Size(), st.distinct, 100*float64(st.dark)/float64(st.total))
	mustf(t, st.distinct > 500, "page screenshot looks blank (%d colours)", st.distinct)
	mustf(t, st.dark < st.total/4, "page screenshot is mostly black")
}

var (
	trainBlue = color.RGBA{0x25, 0x63, 0xeb, 0xff}
	valOrange = color.RGBA{0xea, 0x58, 0x0c, 0xff}
	accGreen  = color.RGBA{0x16, 0xa3, 0x4a, 0xff}
	errRed    = color.RGBA{0xdc, 0x26, 0x26, 0xff}
)

// checkCurves looks inside the plot frame: a white background, and the train, validation and
// accuracy curve colours drawn in the plot areas.
func checkCurves(t *testing.T, img image.Image) {
	b := img.Bounds()
	body := image.Rect(b.Min.X, b.Min.Y+b.Dy()/8, b.Max.X, b.Max.Y)
	st := stats(img, body, trainBlue, valOrange, accGreen)
	t.Logf("plot (curves) %v: %d colours, %d dark, train %d, val %d, acc %d px", b.Size(), st.distinct, st.dark, st.near[0], st.near[1], st.near[2])
	mustf(t, st.dark < st.total/5, "plot is mostly black: Ebiten drew nothing")
	mustf(t, st.distinct > 30, "plot is blank (%d colours)", st.distinct)
	for i, name := range []string{"train loss", "val loss", "val accuracy"} {
		mustf(t, st.near[i] > 60, "the %s curve is missing from the plot (%d px)", name, st.near[i])
	}
}

func checkEval(t *testing.T, img image.Image) {
	st := stats(img, img.Bounds(), color.RGBA{0x1d, 0x4e, 0xd8, 0xff}, accGreen)
	t.Logf("plot (evaluation): %d colours, diagonal blue %d px, bars %d px", st.distinct, st.near[0], st.near[1])
	mustf(t, st.near[0] > 200, "the confusion matrix diagonal is not drawn")
	mustf(t, st.near[1] > 200, "the per-class accuracy bars are not drawn")
}

// badHeads imports head files that must be refused, each with an error naming the problem:
// a damaged file, a head for another feature size, a head for another backbone.
func badHeads(t *testing.T, ctx context.Context, dir string) {
	t.Helper()
	bb := js[string](t, ctx, `window.finetuner.state.backboneId`)
	dim := js[int](t, ctx, `window.finetuner.state.backbone.dim`)
	mk := func(name string, d int, backbone string) string {
		rng := kernels.NewRNG(1)
		m, err := head.NewModel(head.Arch{}, d, []string{"x", "y"}, &rng)
		if err != nil {
			t.Fatal(err)
		}
		m.Meta.BackboneID = backbone
		b, err := m.MarshalSafetensors()
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o644)
		return p
	}
	garbage := filepath.Join(dir, "garbage.safetensors")
	os.WriteFile(garbage, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"), 0o644)
	cases := []struct{ file, want string }{
		{garbage, ""},
		{mk("dim.safetensors", dim+3, bb), itoa(dim + 3)},
		{mk("other.safetensors", dim, "some-other-backbone"), "some-other-backbone"},
	}
	for _, c := range cases {
		js[any](t, ctx, `document.getElementById('errors').replaceChildren()`)
		if _, err := chromedp.Run(ctx, chromedp.SetUploadFiles(chromedp.ID("import-head"), []string{c.file})); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `document.getElementById('errors').innerText.length > 0`, 10*time.Second, "an error for "+filepath.Base(c.file))
		msg := js[string](t, ctx, `document.getElementById('errors').innerText`)
		t.Logf("import %s: %s", filepath.Base(c.file), strings.TrimSpace(strings.Split(msg, "\n")[0]))
		mustf(t, strings.Contains(msg, c.want), "the error for %s does not mention %q: %s", filepath.Base(c.file), c.want, msg)
	}
	js[any](t, ctx, `document.getElementById('errors').replaceChildren()`)
	// The good head is still the current one.
	mustf(t, js[bool](t, ctx, `window.finetuner.state.headInfo.labels.includes('birds')`), "a refused import replaced the head")
}
