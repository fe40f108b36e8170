//go:build !js

package main

import (
	"context"
	"fmt"
	"log"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/chromedp/chromedp"
)

// ExtractRun is one extraction of the demo set with augmentation in the app: how many photos
// (each with all its views) the workers extracted, in how long from the click on Load demo set
// to the last one (decoding included), and how they were shared between the trainer worker and
// its helpers.
type ExtractRun struct {
	Helpers      string  `json:"helpers"`   // the ?helpers= value, "" for the page's default
	Cores        int     `json:"cores"`     // navigator.hardwareConcurrency
	Images       int     `json:"images"`    // photos extracted, each with every view
	PerSecond    float64 `json:"perSecond"` // photos per second
	Seconds      float64 `json:"seconds"`   // the page's clock, the click on Load demo set to the last photo done
	WorkerDone   []int   `json:"workerDone"`
	Kernels      string  `json:"kernels"` // the trainer's chip: SIMD128 or scalar
	ReadyMs      float64 `json:"readyMs"`
	Status       string  `json:"status"` // the page's own progress line at the end
	DemoPhotos   int     `json:"demoPhotos"`
	Augmentation string  `json:"augmentation"`
	Views        int     `json:"views"` // backbone passes a photo takes with that augmentation
}

// extractRate serves the built app with cmd/serve and, in a fresh profile each time, opens it with
// ?helpers=0 (the trainer worker alone) and with the page's default (one helper fewer than the
// cores, up to three), sets the augmentation to mirror + crops (seven views a photo) and loads the
// demo set, so that every photo's views queue as soon as it is decoded; it times the whole
// extraction by the page's clock.
func extractRate(ctx context.Context, exe, root string) ([]ExtractRun, error) {
	base, tmp, stop, err := startServe(root, "bench-extract-")
	if err != nil {
		return nil, err
	}
	defer stop()
	var runs []ExtractRun
	for i, helpers := range []string{"0", ""} {
		u := base
		if helpers != "" {
			u += "?helpers=" + helpers
		}
		r, err := extractOnce(ctx, exe, u, filepath.Join(tmp, fmt.Sprintf("profile%d", i)))
		if err != nil {
			return nil, fmt.Errorf("helpers=%q: %w", helpers, err)
		}
		r.Helpers = helpers
		log.Printf("extract (helpers %q, %d cores, %s): %d images at %.1f/s, per worker %v", helpers, r.Cores, r.Kernels, r.Images, r.PerSecond, r.WorkerDone)
		runs = append(runs, r)
	}
	return runs, nil
}

func extractOnce(ctx context.Context, exe, u, profile string) (ExtractRun, error) {
	var r ExtractRun
	bctx, cancel := newBrowser(ctx, exe, profile)
	defer cancel()
	if err := chromedp.Do(bctx, chromedp.Navigate(u)); err != nil {
		return r, err
	}
	t0 := time.Now()
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`document.body.dataset.ready !== undefined`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(180*time.Second))); err != nil {
		return r, fmt.Errorf("the app did not become ready within 180 s: %v", err)
	}
	r.ReadyMs = float64(time.Since(t0).Milliseconds())
	r.Augmentation, r.Views = "flip,crops", 7 // the photo, its mirror, four corner crops and a centre crop
	if _, err := chromedp.Run(bctx, chromedp.Evaluate[any](`(() => { const f = document.getElementById('settings').elements;
  f.augment.value = 'flip,crops'; f.augment.dispatchEvent(new Event('change', {bubbles: true}));
  window.__benchExtractT0 = performance.now(); document.getElementById('load-demo').click(); })()`)); err != nil {
		return r, err
	}
	// Done when every sample has its features, nothing is queued or in flight, and the page has
	// closed its progress line (pool.stats.last).
	// The demo set's photos arrive as they decode; only once all of them are in (the manifest's
	// count) does a drained queue mean the end.
	want, err := chromedp.Run(bctx, chromedp.Evaluate[int](`fetch('public/demo/manifest.json').then(r => r.json())
  .then(m => m.classes.reduce((n, c) => n + c.files.length, 0))`, chromedp.EvalAwaitPromise))
	if err != nil || want == 0 {
		return r, fmt.Errorf("reading the demo manifest's photo count: %v", err)
	}
	secs, err := chromedp.Run(bctx, chromedp.Poll[float64](`(() => { const f = window.finetuner, x = f && f.extraction();
  if (!x || f.state.samples.size < `+strconv.Itoa(want)+` || x.queued || x.inflight || x.total) return null;
  return [...f.state.samples.values()].every(s => s.feat) ? (performance.now() - window.__benchExtractT0) / 1000 : null; })()`,
		chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(600*time.Second)))
	if err != nil {
		errs, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('errors')?.innerText || ''`))
		return r, fmt.Errorf("the demo set's extraction did not finish within 600 s: %v; page errors: %q", err, errs)
	}
	r.Seconds = secs
	type info struct {
		Cores   int    `json:"cores"`
		Done    []int  `json:"done"`
		Chip    string `json:"chip"`
		Status  string `json:"status"`
		Samples int    `json:"samples"`
	}
	in, err := chromedp.Run(bctx, chromedp.Evaluate[info](`({ cores: navigator.hardwareConcurrency,
  done: window.finetuner.extraction().workers.map(w => w.done),
  chip: document.getElementById('chip-worker').textContent,
  status: document.getElementById('extract-text').textContent, samples: window.finetuner.state.samples.size })`))
	if err != nil {
		return r, err
	}
	r.Cores, r.WorkerDone, r.Status, r.DemoPhotos = in.Cores, in.Done, in.Status, in.Samples
	for _, d := range in.Done {
		r.Images += d
	}
	if r.Images < want {
		return r, fmt.Errorf("the workers extracted %d photos (%v), the demo set has %d", r.Images, in.Done, want)
	}
	r.PerSecond = float64(r.Images) / r.Seconds
	r.Kernels = "scalar"
	if strings.Contains(in.Chip, "SIMD128") {
		r.Kernels = "SIMD128"
	}
	return r, nil
}
