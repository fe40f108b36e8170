//go:build !js

package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"finetuner/internal/headless"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// cspRecorder runs in every document (the page and its plot frame) before any of its scripts
// and keeps each Content-Security-Policy violation.
const cspRecorder = `
window.__csp = [];
document.addEventListener('securitypolicyviolation', (e) => {
  window.__csp.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline') + ' in ' + e.documentURI.replace(location.origin, '') + (e.sourceFile ? ' (' + e.sourceFile.replace(location.origin, '') + ':' + e.lineNumber + ')' : ''));
});`

// browserCheck opens a share link of the Worker in headless Chromium, under the Worker's real
// headers (CSP, Service-Worker-Allowed, no redirects), and waits until the trainer's Web Worker
// has its wasm and backbone, the Ebiten plot frame has drawn its canvas and the service worker
// has cached the site; then no CSP violation and no page error may have happened.
func browserCheck(exe, id string, headSize, headDim int) {
	opts := headless.Options(exe, "", 1280, 900, headless.FakeWebcam...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 3*time.Minute)
	defer cancelT()

	start := time.Now()
	_, err := chromedp.Run(ctx, func(ctx context.Context, _ *chromedp.Target) (any, error) {
		return chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder})
	})
	check(err)
	check(chromedp.Do(ctx, chromedp.Navigate(strings.TrimSuffix(*base, "/")+"/?head="+id)))
	wait := func(what, expr string, limit time.Duration) {
		deadline := time.Now().Add(limit)
		for {
			if ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!("+expr+")")); err == nil && ok {
				return
			}
			if time.Now().After(deadline) {
				state, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('.chip')].map(c => c.textContent).join(' | ') + ' // ' + (document.getElementById('errors')?.innerText || '') + (document.getElementById('fatal')?.innerText || '') + ' // CSP: ' + (window.__csp || []).join('; ')`))
				fail("browser: no %s within %v; page: %s", what, limit, state)
			}
			time.Sleep(250 * time.Millisecond)
		}
	}
	wait("trainer ready (Go wasm in the Web Worker, backbone loaded)", `/ready/.test(document.getElementById('chip-worker')?.textContent || '')`, 90*time.Second)
	wait("Ebiten canvas in the plot frame", `(() => { const f = document.querySelector('iframe'); const d = f && f.contentDocument; return d && d.querySelector('canvas') && !d.getElementById('msg'); })()`, 90*time.Second)
	wait("service worker holding the site", `/works offline/.test(document.getElementById('chip-offline')?.textContent || '')`, 90*time.Second)
	wait("the page opening the linked head", `/head imported/.test(document.getElementById('io-status')?.textContent || '')`, 90*time.Second)

	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](collect))
	check(err)
	if len(violations) > 0 {
		fail("browser: %d CSP violations under the Worker's headers: %s", len(violations), strings.Join(violations, "; "))
	}
	errs, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(document.getElementById('errors')?.innerText || '') + (document.getElementById('fatal')?.innerText || '')`))
	check(err)
	if strings.TrimSpace(errs) != "" {
		fail("browser: the page shows errors: %s", errs)
	}
	// The page opened the link (and dropped ?head= from the address), shows Share because the API
	// answers, and js/share.js in the page fetches the head and its description.
	got, err := chromedp.Run(ctx, chromedp.Evaluate[string](`import('/js/share.js').then(async (s) => {
		const ok = await s.apiAvailable();
		const shown = !document.getElementById('share-head').hidden;
		const linkGone = s.sharedHeadId() === null;
		const bytes = await s.fetchSharedHead('`+id+`');
		const meta = await s.fetchSharedMeta('`+id+`');
		return [ok, shown, linkGone, bytes.length, meta.featureDim].join(' ');
	})`, chromedp.EvalAwaitPromise))
	check(err)
	if want := fmt.Sprintf("true true true %d %d", headSize, headDim); got != want {
		fail("browser: js/share.js in the page gave %q, want %q", got, want)
	}
	fmt.Printf("itest: browser: page, trainer Web Worker, Ebiten frame and service worker up in %.1fs under the Worker's CSP, no violations; the page opened the linked head and shows Share\n", time.Since(start).Seconds())

	// The other pages of the site: the docs embed and the kiosk (webcam: a fake device).
	for _, p := range []string{"/public/embed.html?autoplay=1", "/public/kiosk.html"} {
		check(chromedp.Do(ctx, chromedp.Navigate(strings.TrimSuffix(*base, "/")+p)))
		wait(p+" loaded", `document.readyState === 'complete'`, 30*time.Second)
		time.Sleep(8 * time.Second) // let its modules, workers and frames start
		violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](collect))
		check(err)
		if len(violations) > 0 {
			fail("browser: %s: %d CSP violations: %s", p, len(violations), strings.Join(violations, "; "))
		}
		fmt.Printf("itest: browser: %s under the Worker's CSP, no violations\n", p)
	}
}

// collect gathers the violations of the page and of its same-origin frames.
const collect = `[...(window.__csp || []), ...[...document.querySelectorAll('iframe')].flatMap(f => { try { return f.contentWindow.__csp || []; } catch (e) { return []; } })]`
