//go:build !js

package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"finetuner/internal/headless"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/heapprofiler"
	"github.com/chromedp/cdproto/memory"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// isolatedBrowser is startBrowser (same flags) with every network route closed except the local
// server: host names resolve nowhere, and anything else goes to a proxy that does not exist.
// Only loopback bypasses it, so a request to any other origin fails instead of leaving the machine.
func isolatedBrowser(t *testing.T, exe, netlog string) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := headless.Options(exe, t.TempDir(), 1400, 900, append(append(headless.FakeWebcam,
		chromedp.Flag("enable-precise-memory-info", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"),
		chromedp.Flag("proxy-server", "http://127.0.0.1:9"),
		chromedp.Flag("proxy-bypass-list", "127.0.0.1"),
	), headless.NetLog(netlog)...)...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	return ctx, func() { cancelC(); cancelA() }
}

// e2eOut is the folder for screenshots and logs (E2E_OUT, as scripts/test-*.sh set it).
// offOrigin returns the requests of the pages (not the browser's own background traffic) that
// went anywhere but the server's origin, except the test's own probe of the blocked outside.
func offOrigin(t *testing.T, netlog, origin string) []string {
	origin = strings.TrimSuffix(origin, "/")
	var bad []string
	for _, r := range netlogRequests(t, netlog) {
		switch {
		case r.initiator == "not an origin" && !strings.HasPrefix(r.url, origin+"/"):
		case strings.HasPrefix(r.url, origin+"/"), strings.HasPrefix(r.url, "blob:"+origin), strings.HasPrefix(r.url, "data:"):
		case r.url == outsideProbe:
		default:
			bad = append(bad, r.url+" (initiated by "+r.initiator+")")
		}
	}
	return bad
}

// outsideProbe is the one outside URL the kiosk test asks for, to see it blocked.
const outsideProbe = "http://example.com/"

// kioskIDB counts the kiosk database's records: samples and meta.
const kioskIDB = `new Promise((res, rej) => { const r = indexedDB.open('finetuner-kiosk', 1);
  r.onerror = () => rej(r.error);
  r.onsuccess = () => { const db = r.result; const tx = db.transaction(['samples', 'meta'], 'readonly');
    const a = tx.objectStore('samples').count(), b = tx.objectStore('meta').count();
    tx.oncomplete = () => { db.close(); res(a.result + ',' + b.result); }; }; })`

const press = `document.getElementById('hold').dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}))`
const release = `document.getElementById('hold').dispatchEvent(new PointerEvent('pointerup', {bubbles: true}))`

func TestKiosk(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-kiosk.sh", "public/build/trainer.wasm", "public/build/plot.wasm", "public/models/manifest.json")
	out := e2eOut(t)
	netlog := filepath.Join(out, "kiosk-netlog.json")
	srv := startServer(t, root)
	ctx, cancel := isolatedBrowser(t, exe, netlog)
	defer cancel()
	start := time.Now()
	step := func(name string) { t.Logf("[%5.1fs] %s", time.Since(start).Seconds(), name) }

	step("the outside world is unreachable from this browser")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"public/kiosk.html?idle=20")); err != nil {
		t.Fatal(err)
	}
	blocked := js[string](t, ctx, `fetch('`+outsideProbe+`').then(() => 'reached', e => 'blocked')`)
	mustf(t, blocked == "blocked", "a request to example.com was not blocked: %s", blocked)

	step("attract screen")
	waitFor(t, ctx, `document.body.dataset.ready === '1'`, 90*time.Second, "the kiosk to load its backbone")
	mustf(t, js[string](t, ctx, `document.getElementById('errors').innerText`) == "", "errors after load: %s", js[string](t, ctx, `document.getElementById('errors').innerText`))
	mustf(t, !js[bool](t, ctx, `document.getElementById('attract').hidden`), "the attract screen is not shown")
	mustf(t, js[string](t, ctx, `getComputedStyle(document.body).userSelect`) == "none", "text selection is not disabled")
	mustf(t, js[bool](t, ctx, `!document.dispatchEvent(new MouseEvent('contextmenu', {bubbles: true, cancelable: true}))`), "the context menu is not suppressed")
	mustf(t, js[string](t, ctx, `document.documentElement.lang`) == "en", "the kiosk does not start in English")
	shot := screenshot(t, ctx, "", filepath.Join(out, "kiosk-1-attract.png"))
	mustf(t, stats(shot, shot.Bounds()).distinct > 50, "the attract screen is blank")

	step("step 1: teach thing A with the fake webcam")
	js[any](t, ctx, `document.getElementById('attract').click()`)
	waitFor(t, ctx, `kiosk.state.step === 'teach0' && document.getElementById('video').videoWidth > 0`, 20*time.Second, "the camera")
	minSamples := js[int](t, ctx, `kiosk.config.minSamples`)
	js[any](t, ctx, press)
	waitFor(t, ctx, `kiosk.state.samples[0].length >= `+strconv.Itoa(minSamples+2), 120*time.Second, "captured samples of thing A")
	js[any](t, ctx, release)
	// A frame already being extracted when the button is let go still lands: wait for quiet.
	waitFor(t, ctx, `kiosk.state.inflight === 0`, 30*time.Second, "the last capture to land")
	// Every visible control is a touch target of at least 44 CSS pixels each way.
	small := js[string](t, ctx, `[...document.querySelectorAll('button')].filter(b => b.offsetParent).map(b => [b.id || b.textContent, b.getBoundingClientRect()]).filter(([n, r]) => r.width < 44 || r.height < 44).map(([n, r]) => n + ' ' + Math.round(r.width) + 'x' + Math.round(r.height)).join('; ')`)
	mustf(t, small == "", "buttons smaller than 44 px: %s", small)
	n0 := js[int](t, ctx, `kiosk.state.samples[0].length`)
	mustf(t, js[int](t, ctx, `document.querySelectorAll('#thumbs img').length`) == min(n0, 24), "thumbnails do not match the samples")
	mustf(t, js[int](t, ctx, `kiosk.state.samples[0][0].feat.length`) == js[int](t, ctx, `kiosk.state.backbone.dim`), "features have the wrong length")
	waitFor(t, ctx, kioskIDB+`.then(s => s.split(',')[0] === '`+strconv.Itoa(n0)+`')`, 10*time.Second, "the samples in IndexedDB")
	screenshot(t, ctx, "", filepath.Join(out, "kiosk-2-teach.png"))

	step("a reload in the middle of a visit resumes it")
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.body.dataset.ready === '1'`, 60*time.Second, "the kiosk after reload")
	mustf(t, js[string](t, ctx, `kiosk.state.step`) == "teach0", "the visit was not resumed (step %s)", js[string](t, ctx, `kiosk.state.step`))
	mustf(t, js[int](t, ctx, `kiosk.state.samples[0].length`) == n0, "the resumed visit lost samples")
	waitFor(t, ctx, `document.getElementById('video').videoWidth > 0`, 20*time.Second, "the camera after reload")

	step("step 2: teach thing B, in Japanese")
	js[any](t, ctx, `document.querySelector('.bar .langs button[data-lang=ja]').click()`)
	waitFor(t, ctx, `document.documentElement.lang === 'ja' && document.getElementById('start-over').textContent === '最初から'`, 5*time.Second, "the Japanese text")
	js[any](t, ctx, `document.getElementById('next').click()`)
	waitFor(t, ctx, `kiosk.state.step === 'teach1'`, 5*time.Second, "step 2")
	mustf(t, strings.Contains(js[string](t, ctx, `document.getElementById('teach-title').textContent`), "もの B"), "the step title is not in Japanese")
	js[any](t, ctx, press)
	waitFor(t, ctx, `kiosk.state.samples[1].length >= `+strconv.Itoa(minSamples+2), 120*time.Second, "captured samples of thing B")
	js[any](t, ctx, release)
	screenshot(t, ctx, "", filepath.Join(out, "kiosk-3-teach-ja.png"))

	step("step 3: learn with the live curve, then try it")
	js[any](t, ctx, `document.getElementById('next').click()`)
	waitFor(t, ctx, `kiosk.state.step === 'learn' || kiosk.state.step === 'try'`, 5*time.Second, "the learning step")
	waitFor(t, ctx, `kiosk.state.step === 'try' || kiosk.plot().history.filter(m => m.type === 'events').length >= 2`, 90*time.Second, "the first epochs on the plot")
	if js[bool](t, ctx, `kiosk.state.step === 'learn'`) {
		screenshot(t, ctx, "", filepath.Join(out, "kiosk-4-learn.png"))
	}
	waitFor(t, ctx, `kiosk.state.step === 'try' && kiosk.state.prediction !== null`, 90*time.Second, "training and a first prediction")
	epochs := js[int](t, ctx, `kiosk.plot().eventList().filter(e => e.kind === 'epoch').length`)
	mustf(t, epochs >= 5, "the plot got %d epoch events", epochs)
	mustf(t, js[string](t, ctx, `kiosk.state.errors.join('; ')`) == "", "errors during the visit: %s", js[string](t, ctx, `kiosk.state.errors.join('; ')`))
	t.Logf("plot: ready %v, drawn %s", js[bool](t, ctx, `kiosk.plot().ready`), js[string](t, ctx, `JSON.stringify(kiosk.plot().drawn)`))
	probs := js[[]float64](t, ctx, `kiosk.state.prediction`)
	mustf(t, len(probs) == 2 && probs[0]+probs[1] > 0.99 && probs[0]+probs[1] < 1.01, "prediction %v is not two probabilities", probs)
	// A touch, as a visitor watching the bars would give now and then, keeps the idle warning away
	// for the screenshot; then the plot frame gets time to draw.
	js[any](t, ctx, `document.body.dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}))`)
	time.Sleep(1500 * time.Millisecond)
	shot = screenshot(t, ctx, "", filepath.Join(out, "kiosk-5-try.png"))
	plotRect := js[[]float64](t, ctx, `(() => { const r = document.getElementById('plot').getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; })()`)
	pr := image.Rect(int(plotRect[0]), int(plotRect[1]), int(plotRect[2]), int(plotRect[3]))
	mustf(t, pr.Dx() > 500 && pr.Dy() > 400, "the plot is not large on screen: %v", pr)
	ps := stats(shot, pr, color.RGBA{255, 255, 255, 255})
	mustf(t, ps.distinct > 30 && ps.dark < ps.total/2, "the plot area looks blank or black (%d colours, %d/%d dark)", ps.distinct, ps.dark, ps.total)

	step("idle reset wipes the visit")
	waitFor(t, ctx, `!document.getElementById('idle').hidden`, 30*time.Second, "the idle warning")
	screenshot(t, ctx, "", filepath.Join(out, "kiosk-6-idle-warning.png"))
	waitFor(t, ctx, `kiosk.state.step === 'attract'`, 30*time.Second, "the idle reset")
	mustf(t, js[string](t, ctx, `kiosk.state.lastReset`) == "idle", "the reset was not the idle one")
	wiped := js[string](t, ctx, `JSON.stringify([kiosk.state.samples.map(l => l.length), document.querySelectorAll('#thumbs img, #bars > *').length, kiosk.state.prediction, document.getElementById('video').srcObject === null, kiosk.plot().history.length])`)
	mustf(t, wiped == `[[0,0],0,null,true,1]`, "not everything was wiped: [samples, DOM, prediction, camera off, plot history] = %s", wiped)
	mustf(t, js[string](t, ctx, kioskIDB) == "0,0", "IndexedDB still holds the visit: %s", js[string](t, ctx, kioskIDB))
	mustf(t, js[string](t, ctx, `document.documentElement.lang`) == "en", "the next visitor does not start in the default language")

	step("operator: long-press the corner, wrong PIN, right PIN")
	js[any](t, ctx, `document.getElementById('corner').dispatchEvent(new PointerEvent('pointerdown', {bubbles: true}))`)
	waitFor(t, ctx, `!document.getElementById('pin').hidden`, 10*time.Second, "the PIN pad after a long press")
	typePIN := func(pin string) {
		var b strings.Builder
		for _, c := range pin {
			fmt.Fprintf(&b, `document.querySelector('#pad [data-key="%c"]').click();`, c)
		}
		b.WriteString(`document.querySelector('#pad [data-key="ok"]').click()`)
		js[any](t, ctx, b.String())
	}
	typePIN("0000")
	mustf(t, js[string](t, ctx, `document.getElementById('pin-msg').textContent`) != "", "a wrong PIN gave no message")
	mustf(t, js[bool](t, ctx, `document.getElementById('operator').hidden`), "a wrong PIN opened the operator menu")
	typePIN(js[string](t, ctx, `kiosk.config.operator.pin`))
	waitFor(t, ctx, `!document.getElementById('operator').hidden`, 5*time.Second, "the operator menu")
	screenshot(t, ctx, "", filepath.Join(out, "kiosk-7-operator.png"))
	js[any](t, ctx, `document.getElementById('op-back').click()`)

	kioskSoak(t, ctx, srv.URL, out)

	step("offline: the server goes away, the kiosk still loads and learns")
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"public/kiosk.html?idle=20")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `navigator.serviceWorker.controller !== null && kiosk.state.offlineReady === true`, 180*time.Second, "the service worker and the kiosk's offline files")
	srv.stop()
	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.body.dataset.ready === '1'`, 90*time.Second, "the kiosk to load with the server gone")
	js[any](t, ctx, `document.getElementById('attract').click()`)
	waitFor(t, ctx, `kiosk.state.step === 'teach0' && document.getElementById('video').videoWidth > 0`, 20*time.Second, "the camera offline")
	js[any](t, ctx, press)
	waitFor(t, ctx, `kiosk.state.samples[0].length >= 2`, 60*time.Second, "samples offline")
	js[any](t, ctx, release)
	mustf(t, js[string](t, ctx, `kiosk.state.errors.join('; ')`) == "", "errors offline: %s", js[string](t, ctx, `kiosk.state.errors.join('; ')`))

	cancel()
	time.Sleep(500 * time.Millisecond)
	if bad := offOrigin(t, netlog, srv.URL); len(bad) > 0 {
		t.Fatalf("requests left the origin %s: %v", srv.URL, bad)
	}
}

// kioskSoak runs up to KIOSK_SOAK (default 200) visits of capture → train → predict → reset on
// the fake webcam, within KIOSK_SOAK_SECONDS (default 120: CI stays bounded on a busy machine),
// with a config that needs only a few samples, and checks that the page's JS heap, the worker's
// wasm memory and the DOM do not grow beyond stated bounds after a warm-up of 5 visits.
func kioskSoak(t *testing.T, ctx context.Context, base, out string) {
	cycles, budget := 200, 120.0
	if s := os.Getenv("KIOSK_SOAK"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 {
			t.Fatalf("KIOSK_SOAK=%q: want a number of visits", s)
		}
		cycles = n
	}
	if s := os.Getenv("KIOSK_SOAK_SECONDS"); s != "" {
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || f <= 0 {
			t.Fatalf("KIOSK_SOAK_SECONDS=%q: want seconds", s)
		}
		budget = f
	}
	if cycles == 0 {
		return
	}
	t.Logf("soak: up to %d visits of capture → train → predict → reset, at most %.0f s", cycles, budget)
	// The soak's config: the shipped one, with fewer samples per class and a shorter training, so
	// a visit takes about a second and the CI run stays bounded.
	var kc map[string]any
	b, err := os.ReadFile(filepath.Join(repoRoot(t), "public/kiosk.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &kc); err != nil {
		t.Fatalf("public/kiosk.json: %v", err)
	}
	kc["minSamples"], kc["maxSamples"], kc["captureRate"], kc["predictIntervalMs"] = 2, 4, 15, 50
	kc["train"].(map[string]any)["epochs"] = 10
	kc["learnShowSeconds"] = 0
	b, _ = json.Marshal(kc)
	if err := os.WriteFile(filepath.Join(repoRoot(t), "public/build/kiosk-soak.json"), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"public/kiosk.html?config=build/kiosk-soak.json")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.body.dataset.ready === '1'`, 60*time.Second, "the kiosk with the soak config")
	// One visit, driven through the UI as a visitor would (pointer events on the same buttons).
	const visit = `(async () => {
	  const until = async (f, ms, what) => { const t0 = performance.now(); while (!f()) { if (performance.now() - t0 > ms) throw new Error('timeout: ' + what); await new Promise(r => setTimeout(r, 20)); } };
	  const s = kiosk.state, min = kiosk.config.minSamples, t0 = performance.now(), ms = [];
	  const lap = () => ms.push(Math.round(performance.now() - t0));
	  document.getElementById('attract').click();
	  await until(() => s.step === 'teach0' && document.getElementById('video').videoWidth > 0, 10000, 'camera');
	  lap();
	  for (const c of [0, 1]) {
	    ` + press + `;
	    await until(() => s.samples[c].length >= min, 20000, 'samples');
	    ` + release + `;
	    document.getElementById('next').click();
	    lap();
	  }
	  await until(() => s.step === 'try' && s.prediction !== null, 30000, 'train and predict');
	  lap();
	  const p = s.prediction;
	  await until(() => s.prediction !== p, 30000, 'a second prediction');
	  lap();
	  await kiosk.reset('soak');
	  lap();
	  return s.step + ' ' + ms.join(',');
	})()`
	measure := func() (heap, wasm float64, nodes, listeners int) {
		// Garbage first, so the numbers are what is still reachable.
		if _, err := chromedp.Call(ctx, heapprofiler.CollectGarbage, cdp.Empty{}); err != nil {
			t.Fatal(err)
		}
		hu, err := chromedp.Call(ctx, runtime.GetHeapUsage, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		dc, err := chromedp.Call(ctx, memory.GetDOMCounters, cdp.Empty{})
		if err != nil {
			t.Fatal(err)
		}
		var st struct{ WasmBytes float64 }
		json.Unmarshal([]byte(js[string](t, ctx, `kiosk.stats().then(JSON.stringify)`)), &st)
		return hu.UsedSize, st.WasmBytes, int(dc.Nodes), int(dc.JsEventListeners)
	}
	type sample struct {
		cycle        int
		heap, wasm   float64
		nodes, lists int
	}
	var rows []sample
	warm := min(5, cycles)
	t0 := time.Now()
	done := 0
	for i := 1; i <= cycles; i++ {
		c, cancel := context.WithTimeout(ctx, 90*time.Second)
		stepName, err := chromedp.Run(c, chromedp.Evaluate[string](visit, chromedp.EvalAwaitPromise))
		cancel()
		if i <= 3 {
			t.Logf("soak visit %d: %s ms (camera, A, B, train+predict, 2nd prediction, reset)", i, stepName)
		}
		if err != nil || !strings.HasPrefix(stepName, "attract ") {
			t.Fatalf("soak visit %d: %v (step %q); page errors: %s", i, err, stepName, js[string](t, ctx, `document.getElementById('errors').innerText`))
		}
		done = i
		over := time.Since(t0).Seconds() > budget && i > warm
		if i == warm || i == cycles || i%25 == 0 || over {
			h, w, n, l := measure()
			rows = append(rows, sample{i, h, w, n, l})
			t.Logf("soak %4d visits (%.1fs): JS heap %.2f MB, wasm memory %.1f MB, DOM nodes %d, listeners %d", i, time.Since(t0).Seconds(), h/1e6, w/1e6, n, l)
		}
		if over {
			break
		}
	}
	cycles = done
	first, last := rows[0], rows[len(rows)-1]
	t.Logf("soak: %d visits in %.1fs (%.2fs each); growth after warm-up (visit %d → %d): JS heap %+.2f MB, wasm %+.1f MB, DOM nodes %+d, listeners %+d",
		cycles, time.Since(t0).Seconds(), time.Since(t0).Seconds()/float64(cycles), first.cycle, last.cycle, (last.heap-first.heap)/1e6, (last.wasm-first.wasm)/1e6, last.nodes-first.nodes, last.lists-first.lists)
	os.WriteFile(filepath.Join(out, "kiosk-soak.txt"), []byte(fmt.Sprintf("visits %d\nheap_mb_first %.3f\nheap_mb_last %.3f\nwasm_mb_first %.1f\nwasm_mb_last %.1f\ndom_first %d\ndom_last %d\nlisteners_first %d\nlisteners_last %d\nseconds %.1f\n",
		cycles, first.heap/1e6, last.heap/1e6, first.wasm/1e6, last.wasm/1e6, first.nodes, last.nodes, first.lists, last.lists, time.Since(t0).Seconds())), 0o644)
	// The bounds, per visit after the warm-up: the DOM and the listeners return to the same count
	// (a little slack for the plot frame), the JS heap grows by at most 0.5 MB + 4 KB per visit
	// (one visit's features are 4-8 × 480 floats, 8-15 KB: a leak of them fails a long soak), and
	// the wasm memory, which never shrinks and grows in steps as Go's heap goal doubles, by at most
	// 8 MB + 32 KB per visit. A short CI soak only catches gross leaks; the 200-visit run the rest.
	visits := float64(last.cycle - first.cycle)
	mustf(t, last.nodes-first.nodes <= 50, "DOM nodes grew from %d to %d over the soak", first.nodes, last.nodes)
	mustf(t, last.lists-first.lists <= 20, "event listeners grew from %d to %d", first.lists, last.lists)
	mustf(t, last.heap-first.heap <= 0.5e6+4e3*visits, "JS heap grew by %.2f MB over %.0f visits", (last.heap-first.heap)/1e6, visits)
	mustf(t, last.wasm-first.wasm <= 8e6+32e3*visits, "wasm memory grew by %.1f MB over %.0f visits", (last.wasm-first.wasm)/1e6, visits)
}
