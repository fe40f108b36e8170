//go:build !js

package e2e

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/storage"
	"github.com/chromedp/chromedp"
)

// TestStorageQuota fills the site's storage quota while samples arrive: the page must say that
// storage is full (once, not once per sample), keep every sample in memory, and save them all
// once space is back, so a reload finds the whole project.
func TestStorageQuota(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-browser.sh", "public/demo/manifest.json", "public/build/trainer.wasm", "public/build/plot.wasm")
	out := e2eOut(t)
	srv := startServer(t, root)
	ctx, cancel := startBrowser(t, exe, filepath.Join(t.TempDir(), "netlog.json"), t.TempDir())
	defer cancel()
	quota := func(origin string, bytes *float64) {
		t.Helper()
		_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (any, error) {
			return chromedp.Call(ctx, storage.OverrideQuotaForOrigin, storage.OverrideQuotaForOriginParams{Origin: origin, QuotaSize: bytes})
		})
		if err != nil {
			t.Fatalf("Storage.overrideQuotaForOrigin: %v", err)
		}
	}
	// The quota is set before the first visit: Chromium reads a site's quota when it opens the
	// site's storage. 256 kB is less than the demo set's thumbnails and images need (and than the
	// service worker's copy of the app, which fails to install and says so).
	origin := strings.TrimSuffix(srv.URL, "/")
	limit := float64(256 << 10)
	quota(origin, &limit)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.body.dataset.ready === '1' && window.finetuner.state.backbone !== null`, 90*time.Second, "the app to load")

	js[any](t, ctx, `document.getElementById('load-demo').click()`)
	demo := readDemo(t, root)
	waitFor(t, ctx, `window.finetuner.state.samples.size >= `+itoa(demo.total), 120*time.Second, "the demo images")
	waitFor(t, ctx, `document.getElementById('errors').innerText.includes('Browser storage is full')`, 30*time.Second, "the storage-full message")
	waitFor(t, ctx, `document.getElementById('chip-storage').textContent.startsWith('not saved')`, 10*time.Second, "the storage chip to say not saved")
	time.Sleep(time.Second) // saves still in flight fail too; they must not add messages
	msgs := js[int](t, ctx, `[...document.getElementById('errors').children].filter(d => d.innerText.includes('storage is full')).length`)
	// The service worker could not store the app either: the page says so instead of waiting.
	waitFor(t, ctx, `document.getElementById('errors').innerText.includes('Offline mode is not available: the browser has no room left')`, 30*time.Second, "the offline-mode failure")
	t.Logf("messages: %s", js[string](t, ctx, `document.getElementById('errors').innerText`))
	mustf(t, msgs == 1, "%d storage-full messages; want one for the whole outage", msgs)
	t.Logf("chips: %q, %q", js[string](t, ctx, `document.getElementById("chip-storage").textContent`), js[string](t, ctx, `document.getElementById("chip-offline").textContent`))
	screenshot(t, ctx, "", filepath.Join(out, "page-quota.png"))

	// Space comes back (the quota override is lifted); the next change saves everything pending.
	quota(origin, nil)
	js[any](t, ctx, `(() => { const n = document.querySelectorAll('#classes .name')[0]; n.value = 'renamed'; n.dispatchEvent(new Event('change')); })()`)
	waitFor(t, ctx, `document.getElementById('chip-storage').textContent === 'saved'`, 30*time.Second, "the pending samples to be saved")

	if err := chromedp.Do(ctx, chromedp.Reload()); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.body.dataset.ready === '1' && window.finetuner.state.backbone !== null`, 90*time.Second, "the app to reload")
	n := js[int](t, ctx, `window.finetuner.state.samples.size`)
	mustf(t, n == demo.total, "after the reload the project has %d samples, want all %d", n, demo.total)
	mustf(t, js[string](t, ctx, `window.finetuner.state.classes[0].name`) == "renamed", "the rename was lost")
}
