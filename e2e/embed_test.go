//go:build !js

package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// embedRecorder records, in the top page only, every message the embeds post, with its time.
const embedRecorder = `if (window.top === window) {
  window.__msgs = [];
  window.addEventListener('message', (e) => { if (e.data && e.data.source === 'finetuner') window.__msgs.push({...e.data, t: performance.now()}); });
}`

type embedMsg struct {
	ID        string             `json:"id"`
	Type      string             `json:"type"`
	Dim       int                `json:"dim"`
	Rows      int                `json:"rows"`
	Level     string             `json:"level"`
	Epoch     int                `json:"epoch"`
	TrainLoss float64            `json:"trainLoss"`
	ValAcc    float64            `json:"valAcc"`
	Ms        float64            `json:"ms"`
	Label     string             `json:"label"`
	Probs     map[string]float64 `json:"probs"`
	Error     string             `json:"error"`
	Classes   []string           `json:"classes"`
	Params    struct {
		Head   string `json:"head"`
		Epochs int    `json:"epochs"`
	} `json:"params"`
	T float64 `json:"t"`
}

func TestEmbed(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-kiosk.sh", "public/build/trainer.wasm", "public/build/plot.wasm", "public/models/manifest.json", "public/build/features/index.json")
	out := e2eOut(t)
	netlog := filepath.Join(out, "embed-netlog.json")
	srv := startServer(t, root)
	ctx, cancel := isolatedBrowser(t, exe, netlog)
	defer cancel()
	start := time.Now()
	step := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }

	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: embedRecorder}); err != nil {
		t.Fatal(err)
	}
	msgs := func(id, typ string) []embedMsg {
		var all []embedMsg
		if err := json.Unmarshal([]byte(js[string](t, ctx, `JSON.stringify(window.__msgs)`)), &all); err != nil {
			t.Fatal(err)
		}
		var out []embedMsg
		for _, m := range all {
			if (id == "" || m.ID == id) && (typ == "" || m.Type == typ) {
				out = append(out, m)
			}
		}
		return out
	}
	count := func(id, typ string) string {
		return fmt.Sprintf("window.__msgs.filter(m => m.id === %q && m.type === %q).length", id, typ)
	}

	step("open the docs page: the first embed loads, the second (below the fold) does not")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"public/docs/index.html")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector('#deep iframe') !== null`, 10*time.Second, "the first embed's iframe")
	mustf(t, js[bool](t, ctx, `document.querySelector('#mid iframe') === null`), "the second embed loaded before it was scrolled into view")
	// The reader is typing in the page: the embeds must leave focus and scroll alone.
	js[any](t, ctx, `document.getElementById('notes').focus()`)
	scroll0 := js[float64](t, ctx, `window.scrollY`)

	step("deep embed: ready, autoplay epochs, done")
	waitFor(t, ctx, count("deep", "done")+` >= 1`, 120*time.Second, "the deep embed's autoplay run")
	ready := msgs("deep", "ready")
	mustf(t, len(ready) == 1 && ready[0].Dim == 480 && ready[0].Rows > 40 && ready[0].Level == "deep", "deep ready event: %+v", ready)
	ep := msgs("deep", "epoch")
	mustf(t, len(ep) >= 10, "only %d epoch events from the deep embed", len(ep))
	mustf(t, ep[len(ep)-1].TrainLoss < 0.7*ep[0].TrainLoss, "deep training loss did not fall: %.3f → %.3f", ep[0].TrainLoss, ep[len(ep)-1].TrainLoss)
	done := msgs("deep", "done")[0]
	mustf(t, done.ValAcc > 0.4, "deep validation accuracy %.2f is at chance level", done.ValAcc)
	waitFor(t, ctx, `document.querySelector('#deep iframe').contentWindow.finetunerEmbed.state.timing.firstDrawn > 0`, 30*time.Second, "the deep embed's plot drawing the run")
	first := js[float64](t, ctx, `document.querySelector('#deep iframe').contentWindow.finetunerEmbed.state.firstEpochMs`)
	t.Logf("deep embed: first epoch %.0f ms after the embed's navigation start; %d epochs, loss %.3f → %.3f, val acc %.3f in %.0f ms",
		first, len(ep), ep[0].TrainLoss, ep[len(ep)-1].TrainLoss, done.ValAcc, done.Ms)
	// firstDrawn is when the reader sees the run: the plot frame has drawn its first points. The
	// plot's own marks (plot-boot.js, ms since the plot frame's start) show where a cold start goes.
	t.Logf("deep embed timing (ms since its navigation start): %s; plot frame: %s", js[string](t, ctx, `JSON.stringify(document.querySelector('#deep iframe').contentWindow.finetunerEmbed.state.timing)`),
		js[string](t, ctx, `JSON.stringify(document.querySelector('#deep iframe').contentWindow.document.getElementById('plot').contentWindow.plotTiming)`))
	// The goal is about a second on an idle machine; the bound only catches a broken autoplay on a
	// CI machine shared with other jobs.
	mustf(t, first > 0 && first < 30000, "autoplay took %.0f ms to show the first epoch", first)
	mustf(t, js[string](t, ctx, `document.activeElement.id`) == "notes", "an embed took the focus: %s", js[string](t, ctx, `document.activeElement.outerHTML.slice(0, 80)`))
	mustf(t, js[float64](t, ctx, `window.scrollY`) == scroll0, "an embed scrolled the page")
	deepWin := `document.querySelector('#deep iframe').contentWindow`
	checkRunDrawn(t, ctx, deepWin, filepath.Join(out, "embed-deep-linear.png"))
	screenshot(t, ctx, "#deep", filepath.Join(out, "embed-deep.png"))

	step("scroll to the mid-level embed: it loads and trains")
	js[any](t, ctx, `document.getElementById('mid').scrollIntoView()`)
	waitFor(t, ctx, count("mid", "done")+` >= 1`, 120*time.Second, "the mid embed's autoplay run")
	mr := msgs("mid", "ready")
	mustf(t, len(mr) == 1 && mr[0].Dim == 64 && mr[0].Level == "mid", "mid ready event: %+v", mr)
	mustf(t, js[string](t, ctx, `document.activeElement.id`) == "notes", "the mid embed took the focus")
	mustf(t, msgs("deep", "done")[0].ValAcc == done.ValAcc && len(msgs("deep", "done")) == 1, "the deep embed ran again when the mid one loaded")
	t.Logf("mid embed: %d epochs, val acc %.3f", len(msgs("mid", "epoch")), msgs("mid", "done")[0].ValAcc)
	checkRunDrawn(t, ctx, `document.querySelector('#mid iframe').contentWindow`, filepath.Join(out, "embed-mid-linear.png"))
	screenshot(t, ctx, "#mid", filepath.Join(out, "embed-mid.png"))
	scroll1 := js[float64](t, ctx, `window.scrollY`)
	mustf(t, js[string](t, ctx, `document.getElementById('mid-acc').textContent`) != "–", "the docs page's own table did not get the done event")

	step("commands: setParams + train on one embed leave the other alone")
	midEpochs := len(msgs("mid", "epoch"))
	js[any](t, ctx, `document.getElementById('deep').finetuner.setParams({head: 'mlp', epochs: 15})`)
	js[any](t, ctx, `document.getElementById('deep').finetuner.train()`)
	waitFor(t, ctx, count("deep", "done")+` >= 2`, 90*time.Second, "the deep embed's MLP run")
	d2 := msgs("deep", "done")[1]
	mustf(t, d2.Params.Head == "mlp" && d2.Params.Epochs == 15, "the MLP run used params %+v", d2.Params)
	mustf(t, len(msgs("mid", "epoch")) == midEpochs, "the mid embed got events from the deep embed's command")
	mustf(t, js[float64](t, ctx, `window.scrollY`) == scroll1, "training scrolled the page")
	// The MLP run finished in well under a second, often before the plot had drawn its start.
	checkRunDrawn(t, ctx, deepWin, filepath.Join(out, "embed-deep-mlp.png"))

	step("commands: predict an image in the mid embed, a bad command, reset")
	js[any](t, ctx, `document.getElementById('mid').finetuner.predict('/public/demo/birds/crow.png')`)
	waitFor(t, ctx, count("mid", "prediction")+` >= 1`, 120*time.Second, "a prediction from the mid embed")
	p := msgs("mid", "prediction")[0]
	sum := 0.0
	for _, v := range p.Probs {
		sum += v
	}
	mustf(t, len(p.Probs) == len(mr[0].Classes) && math.Abs(sum-1) < 1e-3 && p.Probs[p.Label] > 0, "prediction %+v", p)
	t.Logf("mid embed predicts crow.png as %q (%.2f)", p.Label, p.Probs[p.Label])
	js[any](t, ctx, `document.getElementById('mid').finetuner.send({type: 'bogus'})`)
	waitFor(t, ctx, count("mid", "error")+` >= 1`, 10*time.Second, "an error event for a bad command")
	mustf(t, msgs("mid", "error")[0].Error != "", "the error event has no message")
	screenshot(t, ctx, "", filepath.Join(out, "embed-docs-page.png"))
	js[any](t, ctx, `document.getElementById('deep').finetuner.reset()`)
	waitFor(t, ctx, count("deep", "reset")+` >= 1`, 10*time.Second, "the reset event")
	mustf(t, js[bool](t, ctx, `document.querySelector('#deep iframe').contentWindow.finetunerEmbed.state.trained === false`), "the reset left the deep embed trained")
	// The plot is empty again, so the docs page's caption and table must not show the old run.
	caption := js[string](t, ctx, `document.getElementById('deep-live').textContent + ' | ' + document.getElementById('deep-acc').textContent`)
	mustf(t, !strings.Contains(caption, "done") && strings.HasSuffix(caption, "| –"), "after the reset the docs page still shows the last run: %q", caption)
	mustf(t, js[string](t, ctx, `document.activeElement.id`) == "notes", "the commands moved the focus")
	screenshot(t, ctx, "", filepath.Join(out, "embed-docs-reset.png"))

	step("an embed on its own: dark theme, Japanese, head and epochs from the URL")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"public/embed.html?level=mid&theme=dark&lang=ja&head=mlp&epochs=25&autoplay=1")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `window.finetunerEmbed.state.report !== null`, 90*time.Second, "the standalone embed's run")
	mustf(t, js[string](t, ctx, `document.documentElement.lang + ' ' + getComputedStyle(document.body).backgroundColor`) == "ja rgb(17, 24, 39)", "theme or language not applied: %s", js[string](t, ctx, `document.documentElement.lang + ' ' + getComputedStyle(document.body).backgroundColor`))
	mustf(t, js[string](t, ctx, `document.getElementById('train').textContent`) == "学習", "the embed's buttons are not in Japanese")
	mustf(t, js[string](t, ctx, `JSON.stringify(window.finetunerEmbed.state.params)`) != "" && js[string](t, ctx, `document.getElementById('head').value + ' ' + document.getElementById('epochs').value`) == "mlp 25", "head/epochs from the URL were not used")
	checkRunDrawn(t, ctx, "window", filepath.Join(out, "embed-dark-ja-run.png"))
	screenshot(t, ctx, "", filepath.Join(out, "embed-dark-ja.png"))

	step("a bridge made after the plot frame is up still learns that it is ready")
	js[any](t, ctx, `import('../js/plot.js').then((m) => { window.__late = new m.Plot(document.getElementById('plot')); })`)
	waitFor(t, ctx, `window.__late && window.__late.ready`, 10*time.Second, "plot-ready for a late bridge")

	step("autoplay on a return visit (files cached)")
	var firsts, drawn, curves []float64
	for i := 0; i < 3; i++ {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"public/embed.html?preset=demo&autoplay=1")); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `window.finetunerEmbed && window.finetunerEmbed.state.report !== null && window.finetunerEmbed.state.timing.firstDrawn > 0`, 60*time.Second, "the embed's autoplay run, drawn")
		firsts = append(firsts, js[float64](t, ctx, `window.finetunerEmbed.state.firstEpochMs`))
		t.Logf("return visit %d: timing %s; plot frame: %s", i+1, js[string](t, ctx, `JSON.stringify({...window.finetunerEmbed.state.timing, firstEpoch: window.finetunerEmbed.state.firstEpochMs})`),
			js[string](t, ctx, `JSON.stringify(document.getElementById('plot').contentWindow.plotTiming)`))
		drawn = append(drawn, js[float64](t, ctx, `window.finetunerEmbed.state.timing.firstDrawn`))
		curves = append(curves, js[float64](t, ctx, `window.finetunerEmbed.state.timing.curve`))
		checkRunDrawn(t, ctx, "window", filepath.Join(out, fmt.Sprintf("embed-return-%d.png", i+1)))
	}
	sort.Float64s(firsts)
	sort.Float64s(drawn)
	sort.Float64s(curves)
	t.Logf("autoplay, return visits: first epoch after %.0f ms, first curve on screen after %.0f ms (the fallback canvas until the plot is up), the plot's first drawing after %.0f ms (medians of 3; goal: curve ≤ 0.6 s on the 2-core machine)", firsts[1], curves[1], drawn[1])
	mustf(t, curves[1] > 0 && curves[1] <= drawn[1], "the curve time %.0f ms is not the earlier of the fallback's and the plot's (%.0f ms)", curves[1], drawn[1])
	mustf(t, firsts[1] > 0 && firsts[1] < 30000, "autoplay took %.0f ms to show the first epoch", firsts[1])
	if bad := offOrigin(t, netlog, srv.URL); len(bad) > 0 {
		t.Fatalf("requests left the origin %s: %v", srv.URL, bad)
	}
}

// Curve and bar colours of the plot's dark theme (the light ones are trainBlue, valOrange and
// accGreen in app_test.go).
var (
	darkTrain = color.RGBA{0x60, 0xa5, 0xfa, 0xff}
	darkVal   = color.RGBA{0xfb, 0x92, 0x3c, 0xff}
	darkAcc   = color.RGBA{0x4a, 0xde, 0x80, 0xff}
)

// checkRunDrawn looks at the pixels of a finished run in an embed's plot (win is a JS expression
// for the embed page's window): in the curves view, the train and validation loss in the left
// panel and the validation accuracy in the right one; in the evaluation view, the per-class bars.
// A caption that says "done" over an empty plot fails here. The plot is left on the curves view.
func checkRunDrawn(t *testing.T, ctx context.Context, win, path string) {
	t.Helper()
	plot := win + `.finetunerEmbed.plot`
	dark := js[bool](t, ctx, win+`.document.documentElement.dataset.theme === 'dark'`)
	train, val, acc := trainBlue, valOrange, accGreen
	if dark {
		train, val, acc = darkTrain, darkVal, darkAcc
	}
	for _, view := range []string{"eval", "curves"} {
		// Each options message makes the frame draw again and report its state's version.
		before := js[float64](t, ctx, `(`+plot+`.drawn || {version: -1}).version`)
		js[any](t, ctx, plot+`.setOptions({view: '`+view+`'})`)
		waitFor(t, ctx, fmt.Sprintf(`((d) => d && d.version > %v && d.points > 0)(%s.drawn)`, before, plot), 10*time.Second, "the plot drawing the "+view+" view")
		// The frame posts plot-drawn as it draws; the canvas reaches the screen at the frame's end.
		time.Sleep(300 * time.Millisecond)
		img := plotShot(t, ctx, win, strings.TrimSuffix(path, ".png")+"-"+view+".png")
		b := img.Bounds()
		// Below the header (buttons and status line), the two panels side by side.
		top := b.Min.Y + b.Dy()/6
		left := image.Rect(b.Min.X, top, b.Min.X+b.Dx()/2, b.Max.Y)
		right := image.Rect(b.Min.X+b.Dx()/2, top, b.Max.X, b.Max.Y)
		l, r := stats(img, left, train, val), stats(img, right, acc)
		t.Logf("%s (%s view): loss panel train %d, val %d px; right panel %d px of green", filepath.Base(path), view, l.near[0], l.near[1], r.near[0])
		if view == "curves" {
			mustf(t, l.near[0] > 40 && l.near[1] > 20, "%s: the loss curves are missing after done (train %d, val %d px)", path, l.near[0], l.near[1])
			mustf(t, r.near[0] > 40, "%s: the accuracy curve is missing after done (%d px)", path, r.near[0])
		} else {
			mustf(t, r.near[0] > 100, "%s: the per-class bars are missing after done (%d px)", path, r.near[0])
		}
	}
}

// plotShot screenshots the plot frame inside an embed page (win, a JS expression for its window),
// wherever that page sits in the top page's frames, scrolled into view first.
func plotShot(t *testing.T, ctx context.Context, win, path string) image.Image {
	t.Helper()
	box := js[[]float64](t, ctx, `(() => {
  const el = `+win+`.document.getElementById('plot');
  el.scrollIntoView({block: 'nearest'});
  const r = el.getBoundingClientRect();
  let x = r.left + el.clientLeft, y = r.top + el.clientTop, v = el.ownerDocument.defaultView;
  while (v.frameElement) {
    const f = v.frameElement, fr = f.getBoundingClientRect();
    x += fr.left + f.clientLeft; y += fr.top + f.clientTop; v = v.parent;
  }
  return [x + v.scrollX, y + v.scrollY, el.clientWidth, el.clientHeight];
})()`)
	res, err := chromedp.Call(ctx, page.CaptureScreenshot, page.CaptureScreenshotParams{Format: page.CaptureScreenshotFormatPng,
		Clip: &page.Viewport{X: box[0], Y: box[1], Width: box[2], Height: box[3], Scale: 1}})
	if err != nil {
		t.Fatalf("screenshot of the plot in %s: %v", win, err)
	}
	buf := res.Data
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatal(err)
	}
	return img
}
