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
	loaded := func(what string) {
		t.Helper()
		waitFor(t, ctx, `document.body.dataset.ready === '1' && window.finetuner.state.backbone !== null`, 90*time.Second, what)
		waitFor(t, ctx, `document.getElementById('chip-offline').textContent === 'works offline'`, 90*time.Second, "the service worker to cache the app")
	}

	// First visit: how much the app itself takes (the service worker's cache counts against the
	// quota too).
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	loaded("the app to load")
	used := js[float64](t, ctx, `navigator.storage.estimate().then(e => e.usage)`)

	// Second visit, as another origin (localhost, same server) so that its storage opens under the
	// quota: what the app needs plus 64 kB, less than the demo set's thumbnails and images need.
	// (Chromium reads a site's quota when it opens the site's storage.)
	site := strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	origin := strings.TrimSuffix(site, "/")
	limit := used + 64<<10
	quota(origin, &limit)
	t.Logf("the app stores %.1f MB; quota for %s set to that + 64 kB", used/1e6, origin)
	if err := chromedp.Do(ctx, chromedp.Navigate(site)); err != nil {
		t.Fatal(err)
	}
	loaded("the app to load under the quota")

	js[any](t, ctx, `document.getElementById('load-demo').click()`)
	demo := readDemo(t, root)
	waitFor(t, ctx, `window.finetuner.state.samples.size >= `+itoa(demo.total), 120*time.Second, "the demo images")
	waitFor(t, ctx, `document.getElementById('errors').innerText.includes('Browser storage is full')`, 30*time.Second, "the storage-full message")
	waitFor(t, ctx, `document.getElementById('chip-storage').textContent.startsWith('not saved')`, 10*time.Second, "the storage chip to say not saved")
	time.Sleep(time.Second) // saves still in flight fail too; they must not add messages
	msgs := js[int](t, ctx, `[...document.getElementById('errors').children].filter(d => d.innerText.includes('storage is full')).length`)
	mustf(t, msgs == 1, "%d storage-full messages; want one for the whole outage", msgs)
	t.Logf("chip: %q", js[string](t, ctx, `document.getElementById('chip-storage').textContent`))
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
