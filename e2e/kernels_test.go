//go:build !js

package e2e

import (
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// extractProbe computes the backbone features of one fixed synthetic 224² picture in the page's
// trainer worker and returns them with the worker's status chip.
const extractProbe = `(async () => {
  const w = 224, h = 224, rgba = new Uint8Array(w * h * 4);
  for (let i = 0; i < w * h; i++) {
    const x = i % w, y = (i / w) | 0;
    rgba.set([(x * 7 + y) & 255, (y * 5 + 3 * x) & 255, (x ^ y) & 255, 255], 4 * i);
  }
  const f = await window.finetuner.trainer.extract(rgba.buffer, w);
  return { chip: document.getElementById('chip-worker').textContent, kernels: (await window.finetuner.trainer.ready).kernels, features: Array.from(f) };
})()`

type probeResult struct {
	Chip     string    `json:"chip"`
	Kernels  string    `json:"kernels"`
	Features []float64 `json:"features"`
}

// TestKernelPaths opens the app as Chromium runs it (WebAssembly SIMD works: the SIMD128 trainer)
// and with ?kernels=scalar (the fallback a browser without SIMD gets), checks that the page says
// which runs, and that both give the same features within the SIMD gemm's tolerance.
func TestKernelPaths(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-browser.sh", "public/build/trainer.wasm", "public/build/trainer-simd.wasm", "public/models/manifest.json")
	srv := startServer(t, root)
	out := e2eOut(t)
	ctx, cancel := startBrowser(t, exe, filepath.Join(t.TempDir(), "netlog.json"), t.TempDir())
	defer cancel()
	run := func(query, kernels, label string) probeResult {
		if err := chromedp.Do(ctx, chromedp.Navigate(strings.TrimSuffix(srv.URL, "/")+query)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `document.body.dataset.ready === '1' && window.finetuner.state.backbone !== null`, 90*time.Second, "the app and its backbone to load")
		noErrors(t, ctx, "after load"+query)
		r := js[probeResult](t, ctx, extractProbe)
		mustf(t, r.Kernels == kernels, "%s: the trainer runs %q kernels, want %q", query, r.Kernels, kernels)
		mustf(t, strings.Contains(r.Chip, label), "%s: the status chip says %q, want it to name %s", query, r.Chip, label)
		t.Logf("%-16s chip %q, %d features", query, r.Chip, len(r.Features))
		screenshot(t, ctx, "header", filepath.Join(out, "kernels-"+kernels+".png"))
		return r
	}
	simd := run("/", "simd128", "SIMD128")
	scalar := run("/?kernels=scalar", "scalar", "scalar")
	mustf(t, len(simd.Features) == len(scalar.Features) && len(simd.Features) > 0, "feature sizes %d and %d", len(simd.Features), len(scalar.Features))
	var maxAbs, maxRef float64
	for i, v := range scalar.Features {
		maxAbs = math.Max(maxAbs, math.Abs(simd.Features[i]-v))
		maxRef = math.Max(maxRef, math.Abs(v))
	}
	rel := maxAbs / maxRef
	t.Logf("features, SIMD128 vs scalar: max |difference| / max |scalar| = %.2g", rel)
	mustf(t, rel < 1e-5, "SIMD128 and scalar features differ by %.2g (relative), more than 1e-5", rel)
}
