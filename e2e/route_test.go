//go:build !js

package e2e

import (
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestRoutes opens index.html?kiosk and index.html?embed: each must land on its page with the
// other parameters kept, before the app itself starts.
func TestRoutes(t *testing.T) {
	exe, root := browserTest(t, "scripts/test-kiosk.sh")
	srv := startServer(t, root)
	ctx, cancel := startBrowser(t, exe, filepath.Join(t.TempDir(), "netlog.json"), t.TempDir())
	defer cancel()
	for _, c := range []struct{ from, to string }{
		{"?kiosk&lang=ja", "public/kiosk.html?lang=ja"},
		{"index.html?embed=1&preset=demo&autoplay=0#x", "public/embed.html?preset=demo&autoplay=0#x"},
		{"?lang=ja", "?lang=ja"},
	} {
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+c.from)); err != nil {
			t.Fatal(err)
		}
		want := srv.URL + c.to
		waitFor(t, ctx, `location.href === `+strconv.Quote(want)+` && document.readyState === 'complete'`, 30*time.Second, want)
		if c.to == "?lang=ja" {
			// The app itself stays: its class list is there.
			mustf(t, js[bool](t, ctx, `document.getElementById('classes') !== null`), "%s did not open the app", c.from)
		}
	}
}
