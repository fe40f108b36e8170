//go:build !js

package e2e

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRobust drives the Robustness check panel (public/robust.html) in headless Chromium: the
// worker trains the three students on the demo photos (a short fine-tune of the last two blocks
// included), then the mimicry attack runs on validation photos until the deep-layer student's
// prediction flips to the target class (at most three pairs), and every perturbed image must stay
// within the DSSIM budget. Then the page in Japanese.
func TestRobust(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-browser.sh", "public/build/trainer.wasm", "public/demo/manifest.json")
	srv := startServer(t, root)
	out := e2eOut(t)
	ctx, cancel := startBrowser(t, exe, filepath.Join(out, "robust-netlog.json"), t.TempDir())
	defer cancel()
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/public/robust.html")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.readyState === 'complete' && document.getElementById('train') !== null`, 30*time.Second, "robust.html")
	t0 := time.Now()
	js[any](t, ctx, `document.getElementById('train').click()`)
	waitFor(t, ctx, `window.robust.trained === true || document.getElementById('status').textContent.startsWith('error')`, 10*time.Minute, "students trained")
	if s := js[string](t, ctx, `document.getElementById('status').textContent`); len(s) >= 5 && s[:5] == "error" {
		t.Fatalf("training: %s", s)
	}
	acc := js[map[string]float64](t, ctx, `window.robust.acc`)
	t.Logf("students trained in %.0fs: validation accuracy %v", time.Since(t0).Seconds(), acc)
	for k, v := range acc {
		mustf(t, v > 0.4, "%s student: validation accuracy %.2f, want above chance (0.25) by a margin", k, v)
	}
	js[any](t, ctx, `document.getElementById('iters').value = 80`)
	flipped := false
	for k := 0; k < 3 && !flipped; k++ {
		js[any](t, ctx, `(() => { const s = document.getElementById('source'); s.selectedIndex = `+itoa(k*5)+`; s.dispatchEvent(new Event('change')); })()`)
		before := js[float64](t, ctx, `window.robust.tries`)
		js[any](t, ctx, `document.getElementById('attack').click()`)
		waitFor(t, ctx, `window.robust.tries > `+itoa(int(before))+` || document.getElementById('status').textContent.startsWith('error')`, 5*time.Minute, "attack")
		r := js[struct {
			SourceClass string `json:"sourceClass"`
			TargetClass string `json:"targetClass"`
			Students    []struct {
				Student, Before, After string
				DSSIM                  float64 `json:"dssim"`
			} `json:"students"`
		}](t, ctx, `window.robust.last`)
		for _, s := range r.Students {
			t.Logf("pair %d: %s → %s: %s student %s → %s, DSSIM %.5f", k, r.SourceClass, r.TargetClass, s.Student, s.Before, s.After, s.DSSIM)
			mustf(t, s.DSSIM <= 0.003+1e-9, "%s: DSSIM %.5f over the 0.003 budget", s.Student, s.DSSIM)
			if s.Student == "deep" && s.After == r.TargetClass && s.Before != r.TargetClass {
				flipped = true
			}
		}
	}
	mustf(t, flipped, "the attack never flipped the deep-layer student to the target class in three pairs")
	img := screenshot(t, ctx, "#robust", filepath.Join(out, "robust.png"))
	st := stats(img, img.Bounds())
	t.Logf("screenshot %v: %d colours", img.Bounds().Size(), st.distinct)
	mustf(t, st.distinct > 200, "the panel screenshot has %d colours: the photos are not drawn", st.distinct)

	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"/public/robust.html?lang=ja")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.querySelector('h1').textContent === '頑健性チェック'`, 30*time.Second, "Japanese panel")
	title := js[string](t, ctx, `document.querySelector('h1').textContent`)
	mustf(t, title == "頑健性チェック", "Japanese title %q", title)
}
