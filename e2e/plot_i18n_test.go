//go:build !js

package e2e

import (
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// plotRecorder keeps, in the embed page, every message its plot frame posts (JSON strings).
const plotRecorder = `if (window.top === window) {
  window.__plot = [];
  window.addEventListener('message', (e) => {
    if (typeof e.data === 'string' && e.data.startsWith('{"type":"plot-')) window.__plot.push(JSON.parse(e.data));
  });
}`

type plotMsg struct {
	Type     string  `json:"type"`
	Version  int     `json:"version"`
	Points   int     `json:"points"`
	Missing  int     `json:"missing"`
	Fallback bool    `json:"fallback"`
	Theme    string  `json:"theme"`
	OK       bool    `json:"ok"`
	Bytes    int     `json:"bytes"`
	Ms       float64 `json:"ms"`
	Error    string  `json:"error"`
}

// TestEmbedPlotLanguageTheme opens the docs embed in light English, dark Japanese, and dark
// Japanese with the font blocked, and checks what the plot frame draws: its background follows the
// theme, the Japanese font is fetched only for Japanese, every rune drawn has a glyph, and a font
// that cannot be fetched is reported while the plot goes on drawing.
func TestEmbedPlotLanguageTheme(t *testing.T) {
	const fontPath = "public/build/fonts/plot-cjk.ttf"
	exe, root := browserTest(t, "scripts/test-kiosk.sh", "public/build/plot.wasm", "public/build/trainer.wasm", "public/build/features/index.json", fontPath, "public/build/fonts/plot-cjk.LICENSE.txt")
	assets, err := os.ReadFile(filepath.Join(root, "public/build/assets.json"))
	mustf(t, err == nil && strings.Contains(string(assets), `"`+fontPath+`"`), "the service worker's asset list lacks %s (offline kiosks would draw boxes): %v", fontPath, err)
	fi, err := os.Stat(filepath.Join(root, fontPath))
	if err != nil {
		t.Fatal(err)
	}
	out := e2eOut(t)
	srv := startServer(t, root)
	ctx, cancel := isolatedBrowser(t, exe, filepath.Join(out, "plot-i18n-netlog.json"))
	defer cancel()
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: plotRecorder}); err != nil {
		t.Fatal(err)
	}
	msgs := func() []plotMsg {
		var all []plotMsg
		if err := json.Unmarshal([]byte(js[string](t, ctx, `JSON.stringify(window.__plot)`)), &all); err != nil {
			t.Fatal(err)
		}
		return all
	}
	last := func(typ string) (plotMsg, bool) {
		all := msgs()
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].Type == typ {
				return all[i], true
			}
		}
		return plotMsg{}, false
	}
	fontFetches := func() string {
		return js[string](t, ctx, `JSON.stringify(document.getElementById('plot').contentWindow.performance.getEntriesByType('resource').filter(e => e.name.includes('plot-cjk')).map(e => ({name: e.name, size: e.decodedBodySize})))`)
	}
	// run opens the embed and waits for its autoplay run and the plot's drawing of the report.
	run := func(name, query string, fallback bool) (plotMsg, image.Image, string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"public/embed.html?level=mid&epochs=12&autoplay=1&"+query)); err != nil {
			t.Fatal(err)
		}
		waitFor(t, ctx, `window.finetunerEmbed && window.finetunerEmbed.state.report !== null`, 90*time.Second, "the embed's autoplay run ("+query+")")
		want := fmt.Sprintf(`window.__plot.some(m => m.type === 'plot-drawn' && m.points > 0 && m.fallback === %v)`, fallback)
		waitFor(t, ctx, want, 30*time.Second, "the plot drawing the run ("+query+")")
		// The frame redraws at most 5 times a second: let the last change (the report) land.
		time.Sleep(1500 * time.Millisecond)
		d, _ := last("plot-drawn")
		img := screenshot(t, ctx, "#plot", filepath.Join(out, name+".png"))
		screenshot(t, ctx, "", filepath.Join(out, name+"-page.png"))
		return d, img, js[string](t, ctx, `document.getElementById('errors').innerText`)
	}
	white, dark := color.RGBA{0xff, 0xff, 0xff, 0xff}, color.RGBA{0x11, 0x18, 0x27, 0xff}
	lightText, darkText := color.RGBA{0x1f, 0x29, 0x37, 0xff}, color.RGBA{0xe5, 0xe7, 0xeb, 0xff}

	// Light English: the Go font alone, nothing fetched.
	d, img, errs := run("plot-light-en", "lang=en&theme=light", false)
	st := stats(img, img.Bounds(), white, dark, lightText)
	t.Logf("light en: drawn %+v; %d px: %d white, %d dark background, %d text", d, st.total, st.near[0], st.near[1], st.near[2])
	mustf(t, strings.TrimSpace(errs) == "", "the light English embed shows errors: %s", errs)
	mustf(t, d.Theme == "light" && !d.Fallback && d.Missing == 0, "light English plot drawn as %+v, want the light theme, Go font only, no missing glyphs", d)
	mustf(t, st.near[0] > st.total/2 && st.near[1] < st.total/50 && st.near[2] > 100, "the light plot is not white with dark text (%d white, %d dark, %d text of %d px)", st.near[0], st.near[1], st.near[2], st.total)
	mustf(t, fontFetches() == "[]", "the English plot fetched the Japanese font: %s", fontFetches())
	_, fetched := last("plot-font")
	mustf(t, !fetched, "the English plot reported a font load")
	// An English page with Japanese class names (the main app lets users name classes) needs the
	// font too: the frame sees runes its Go font lacks and fetches it.
	js[any](t, ctx, `document.getElementById('plot').contentWindow.postMessage(JSON.stringify({type: 'reset', labels: ['ねこ', 'いぬ'], epochs: 3}), '*')`)
	waitFor(t, ctx, `window.__plot.some(m => m.type === 'plot-font' && m.ok) && window.__plot.at(-1).type === 'plot-drawn' && window.__plot.at(-1).fallback`, 20*time.Second, "the font for Japanese class names on an English page")
	d, _ = last("plot-drawn")
	mustf(t, d.Missing == 0 && d.Theme == "light", "English page, Japanese class names: drawn %+v", d)

	// Dark Japanese: the font is fetched once, every rune drawn has a glyph, the background is dark.
	d, img, errs = run("plot-dark-ja", "lang=ja&theme=dark", true)
	st = stats(img, img.Bounds(), white, dark, darkText)
	f, _ := last("plot-font")
	t.Logf("dark ja: drawn %+v; font %+v; fetches %s; %d px: %d white, %d dark background, %d text", d, f, fontFetches(), st.total, st.near[0], st.near[1], st.near[2])
	mustf(t, strings.TrimSpace(errs) == "", "the dark Japanese embed shows errors: %s", errs)
	mustf(t, f.OK && f.Bytes == int(fi.Size()), "the plot's font message %+v, want ok and %d bytes", f, fi.Size())
	mustf(t, strings.Count(fontFetches(), "plot-cjk.ttf") == 1, "want one fetch of the font from the plot frame, got %s", fontFetches())
	mustf(t, d.Theme == "dark" && d.Fallback && d.Missing == 0, "dark Japanese plot drawn as %+v, want the dark theme, the fallback font, no missing glyphs", d)
	mustf(t, st.near[1] > st.total/2 && st.near[0] < st.total/50 && st.near[2] > 100, "the dark plot is not dark with light text (%d white, %d dark, %d text of %d px)", st.near[0], st.near[1], st.near[2], st.total)
	mustf(t, js[string](t, ctx, `getComputedStyle(document.getElementById('plot').contentDocument.body).backgroundColor`) == "rgb(17, 24, 39)", "the plot frame's page background does not follow the theme: %s",
		js[string](t, ctx, `getComputedStyle(document.getElementById('plot').contentDocument.body).backgroundColor`))
	// The same Japanese text in the light theme, but drawn without the font, would be boxes: the
	// run below proves the counter sees them.

	// Dark Japanese with the font blocked: reported, and the plot still draws (boxes for kana).
	if _, err := chromedp.Call(ctx, network.Enable, network.EnableParams{}); err != nil {
		t.Fatal(err)
	}
	if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: srv.URL + fontPath, Block: true}}}); err != nil {
		t.Fatal(err)
	}
	d, _, errs = run("plot-dark-ja-no-font", "lang=ja&theme=dark", false)
	f, _ = last("plot-font")
	t.Logf("font blocked: drawn %+v; font %+v; page errors %q", d, f, errs)
	mustf(t, !f.OK && f.Error != "", "a blocked font was not reported by the frame: %+v", f)
	mustf(t, strings.Contains(errs, "cannot load the Japanese font"), "the embed does not show the font failure: %q", errs)
	mustf(t, d.Points > 0 && !d.Fallback && d.Missing > 0, "without its font the plot should still draw, counting the runes it lacks: %+v", d)

	// Before the plot runs, its frame is transparent: a dark page shows no white box while
	// plot.wasm loads. Blocking plot.wasm holds the frame in that state.
	if _, err := chromedp.Call(ctx, network.SetBlockedURLs, network.SetBlockedURLsParams{URLPatterns: []*network.BlockPattern{{URLPattern: srv.URL + "public/build/plot.wasm", Block: true}}}); err != nil {
		t.Fatal(err)
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL+"public/embed.html?level=mid&lang=ja&theme=dark")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, ctx, `document.getElementById('errors').innerText.includes('The plot failed to start')`, 30*time.Second, "the embed to show the blocked plot.wasm")
	img = screenshot(t, ctx, "#plot", filepath.Join(out, "plot-dark-loading.png"))
	st = stats(img, img.Bounds(), white, dark)
	t.Logf("dark, plot not started: %d px, %d white, %d page background", st.total, st.near[0], st.near[1])
	mustf(t, st.near[1] > st.total*9/10 && st.near[0] == 0, "the plot frame is not see-through before the plot starts (%d white, %d dark of %d px)", st.near[0], st.near[1], st.total)
}
