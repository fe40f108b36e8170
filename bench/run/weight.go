//go:build !js

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// Asset is one response of the app's cold load.
type Asset struct {
	Path        string  `json:"path"`
	Category    string  `json:"category"`
	Status      int64   `json:"status"`
	Encoding    string  `json:"encoding"`    // Content-Encoding of the response
	Transferred float64 `json:"transferred"` // bytes on the wire, headers included
	Body        float64 `json:"body"`        // encoded body bytes
	BeforeReady bool    `json:"beforeReady"` // finished before the page said it was ready
}

// DiskAsset is one file of the offline app with its brotli size (its .br twin from web.sh).
type DiskAsset struct {
	Path     string `json:"path"`
	Category string `json:"category"`
	Raw      int64  `json:"raw"`
	Brotli   int64  `json:"brotli"`
}

// Weight is the page-weight part: what a cold load of the app transfers and how long it takes
// to be ready, plus the brotli size of every file the app keeps offline.
type Weight struct {
	URL            string  `json:"url"`
	AcceptEncoding string  `json:"acceptEncoding"`
	ReadyMs        float64 `json:"readyMs"` // navigation start → body[data-ready]
	LoadMs         float64 `json:"loadMs"`  // navigation start → load event
	Assets         []Asset `json:"assets"`  // the cold load, service worker precache included
	// PageAssets and PageReadyMs are a cold load with the service worker refused: what the page
	// and its workers fetch for themselves.
	PageAssets  []Asset     `json:"pageAssets"`
	PageReadyMs float64     `json:"pageReadyMs"`
	Disk        []DiskAsset `json:"disk"`
	Note        string      `json:"note,omitempty"`
	// Embed is the docs embed's start (public/embed.html?preset=demo&autoplay=1); nil when its
	// demo features are not built.
	Embed *EmbedStart `json:"embed,omitempty"`
}

// EmbedStart is when the docs embed shows its autoplay run, in ms since the embed's navigation
// start: Curve when the first curve is on screen (the fallback canvas or the plot), Plot when the
// Ebiten plot has drawn it. Cold visits each use a fresh profile; return visits reuse the last one.
type EmbedStart struct {
	ColdCurve   []float64 `json:"coldCurve"`
	ColdPlot    []float64 `json:"coldPlot"`
	ReturnCurve []float64 `json:"returnCurve"`
	ReturnPlot  []float64 `json:"returnPlot"`
}

// category sorts an app path into what it is, so that weights can be counted apart.
func category(p string) string {
	switch {
	case strings.HasPrefix(p, "/public/models/") && strings.HasSuffix(p, ".bin"):
		return "weights"
	case strings.HasPrefix(p, "/public/models/"):
		return "model json"
	case strings.HasPrefix(p, "/public/demo/"):
		return "demo set"
	case strings.HasSuffix(p, ".wasm"):
		return "wasm"
	case strings.HasSuffix(p, ".js"):
		return "js"
	case strings.HasSuffix(p, ".html"), p == "/":
		return "html"
	case strings.HasSuffix(p, ".css"):
		return "css"
	default:
		return "other"
	}
}

// readyScript records when the app marks itself ready (body[data-ready="1"], set at the end of
// js/main.js's start-up), in ms since navigation start.
const readyScript = `(() => {
  const mark = () => { if (document.body && document.body.dataset.ready === '1' && window.__benchReadyAt === undefined) window.__benchReadyAt = performance.now(); };
  new MutationObserver(mark).observe(document, { attributes: true, subtree: true, attributeFilter: ['data-ready'] });
})();`

// pageWeight serves the built app with cmd/serve (precompressed twins, as deployed), loads it
// once in a fresh browser profile and records every response.
func pageWeight(ctx context.Context, exe, root string) (*Weight, error) {
	for _, f := range []string{"index.html", "public/build/trainer.wasm", "public/build/assets.json"} {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			return nil, fmt.Errorf("%s missing: run ./build.sh web first", f)
		}
	}
	base, tmp, stop, err := startServe(root, "bench-weight-")
	if err != nil {
		return nil, err
	}
	defer stop()
	target, err := url.Parse(base)
	if err != nil {
		return nil, err
	}
	w := &Weight{URL: base, Note: "Counted at a proxy in front of cmd/serve: every request of the page, its iframe, its workers and its service worker; bytes are headers + body as sent."}
	// First the real cold load; then one with the service worker's script refused, which is what
	// the page and its workers load for themselves (the precache of every offline file apart).
	if w.Assets, w.ReadyMs, w.LoadMs, w.AcceptEncoding, err = coldLoad(ctx, exe, target, filepath.Join(tmp, "profile1"), false); err != nil {
		return nil, err
	}
	if w.PageAssets, w.PageReadyMs, _, _, err = coldLoad(ctx, exe, target, filepath.Join(tmp, "profile2"), true); err != nil {
		return nil, err
	}
	disk, err := diskAssets(root)
	if err != nil {
		return nil, err
	}
	w.Disk = disk
	if _, err := os.Stat(filepath.Join(root, "public/build/features/index.json")); err == nil {
		if w.Embed, err = embedStart(ctx, exe, base, tmp); err != nil {
			return nil, err
		}
	} else {
		log.Printf("page weight: the embed's demo features are not built (go run ./tools/embedfeatures); its start is not measured")
	}
	return w, nil
}

// startServe makes a temporary folder (named from prefix, for browser profiles and the like),
// builds cmd/serve into it and starts it on a free port over root (the built site, precompressed
// twins as deployed); it returns the app's URL, the folder, and a stop function that stops the
// server and removes the folder.
func startServe(root, prefix string) (base, tmp string, stop func(), err error) {
	if tmp, err = os.MkdirTemp("", prefix); err != nil {
		return "", "", nil, err
	}
	fail := func(err error) (string, string, func(), error) {
		os.RemoveAll(tmp)
		return "", "", nil, err
	}
	bin := filepath.Join(tmp, "serve")
	build := exec.Command("go", "build", "-o", bin, "./cmd/serve")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return fail(fmt.Errorf("go build ./cmd/serve: %v\n%s", err, b))
	}
	srv := exec.Command(bin, "-root", root, "-q")
	srv.Env = append(os.Environ(), "PORT=0")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return fail(err)
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return fail(err)
	}
	stop = func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			srv.Process.Kill()
		}
		os.RemoveAll(tmp)
	}
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		re := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`)
		for sc.Scan() {
			if m := re.FindString(sc.Text()); m != "" {
				urlc <- m
			}
		}
	}()
	select {
	case base = <-urlc:
		return base, tmp, stop, nil
	case <-time.After(20 * time.Second):
		stop()
		return "", "", nil, errors.New("cmd/serve printed no URL within 20 s")
	}
}

// embedStart opens the docs embed with autoplay three times in fresh profiles (cold), then three
// times more in the last profile (files cached), and reads the embed's own marks.
func embedStart(ctx context.Context, exe, base, tmp string) (*EmbedStart, error) {
	es := &EmbedStart{}
	u := base + "public/embed.html?preset=demo&autoplay=1"
	visit := func(bctx context.Context) (curve, plot float64, err error) {
		if err := chromedp.Do(bctx, chromedp.Navigate(u)); err != nil {
			return 0, 0, err
		}
		t, err := chromedp.Run(bctx, chromedp.Poll[[]float64](`(() => { const t = window.finetunerEmbed && window.finetunerEmbed.state.timing;
  return t && t.curve > 0 && t.firstDrawn > 0 ? [t.curve, t.firstDrawn] : null; })()`,
			chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(60*time.Second)))
		if err != nil || len(t) != 2 {
			return 0, 0, fmt.Errorf("the embed drew no curve within 60 s: %v", err)
		}
		return t[0], t[1], nil
	}
	for i := 0; i < 3; i++ {
		bctx, cancel := newBrowser(ctx, exe, filepath.Join(tmp, fmt.Sprintf("embed%d", i)))
		c, p, err := visit(bctx)
		if err == nil {
			es.ColdCurve, es.ColdPlot = append(es.ColdCurve, c), append(es.ColdPlot, p)
			log.Printf("embed, cold visit %d: curve %.0f ms, plot %.0f ms", i+1, c, p)
			if i == 2 {
				for j := 0; j < 3 && err == nil; j++ {
					if c, p, err = visit(bctx); err == nil {
						es.ReturnCurve, es.ReturnPlot = append(es.ReturnCurve, c), append(es.ReturnPlot, p)
						log.Printf("embed, return visit %d: curve %.0f ms, plot %.0f ms", j+1, c, p)
					}
				}
			}
		}
		cancel()
		if err != nil {
			return nil, err
		}
	}
	return es, nil
}

// coldLoad opens the app once in a fresh profile behind a counting proxy and returns every
// response, the time to ready and to the load event, and the browser's Accept-Encoding.
func coldLoad(ctx context.Context, exe string, target *url.URL, profile string, blockSW bool) (assets []Asset, readyMs, loadMs float64, accept string, err error) {
	// Every request goes through a counting proxy in front of cmd/serve, so the requests of the
	// workers and of the service worker (which the page's DevTools session does not see) count too.
	tally := &tallyProxy{proxy: httputil.NewSingleHostReverseProxy(target), blockSW: blockSW}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, 0, 0, "", err
	}
	front := &http.Server{Handler: tally, ReadHeaderTimeout: 10 * time.Second}
	go front.Serve(ln)
	defer front.Close()
	appURL := "http://" + ln.Addr().String() + "/"
	log.Printf("page weight: cold load of %s (service worker blocked: %v)", appURL, blockSW)

	bctx, cancel := newBrowser(ctx, exe, profile)
	defer cancel()
	var off offLoopback
	if err := chromedp.Listen(bctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok {
			off.see(e.Request.URL)
		}
	}); err != nil {
		return nil, 0, 0, "", fmt.Errorf("starting chromium: %v", err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		return nil, 0, 0, "", err
	}
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: readyScript}); err != nil {
		return nil, 0, 0, "", err
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(appURL)); err != nil {
		return nil, 0, 0, "", fmt.Errorf("loading the app: %v", err)
	}
	readyMs, err = chromedp.Run(bctx, chromedp.Poll[float64](`window.__benchReadyAt`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(180*time.Second)))
	if err != nil {
		errs, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('errors')?.innerText || ''`))
		return nil, 0, 0, "", fmt.Errorf("the app did not become ready (body[data-ready]) within 180 s: %v; page errors: %q", err, errs)
	}
	readyAt := time.Now()
	// Requests after ready (the service worker's precache of every offline file) still count;
	// give them time to finish.
	time.Sleep(8 * time.Second)
	loadMs, err = chromedp.Run(bctx, chromedp.Evaluate[float64](`performance.getEntriesByType('navigation')[0]?.loadEventEnd || 0`))
	if err != nil {
		return nil, 0, 0, "", err
	}
	if err := off.err(); err != nil {
		return nil, 0, 0, "", err
	}
	tally.mu.Lock()
	defer tally.mu.Unlock()
	for _, a := range tally.assets {
		a.BeforeReady = a.done.Before(readyAt)
		if accept == "" {
			accept = a.accept
		}
		// Two 404s are expected: the service worker's script when it is refused on purpose, and
		// the share API's health check (js/share.js), which only the Worker deployment answers.
		expected := (blockSW && strings.HasSuffix(a.Path, "/sw.js")) || a.Path == "/api/health"
		if a.Status >= 400 && !(expected && a.Status == 404) {
			return nil, 0, 0, "", fmt.Errorf("the app's cold load got HTTP %d for %s", a.Status, a.Path)
		}
		assets = append(assets, a.Asset)
	}
	sort.Slice(assets, func(i, j int) bool { return assets[i].Transferred > assets[j].Transferred })
	return assets, readyMs, loadMs, accept, nil
}

// tallyProxy forwards to cmd/serve and records each response: status, encoding, bytes.
type tallyProxy struct {
	proxy   *httputil.ReverseProxy
	blockSW bool // answer 404 for the service worker's script
	mu      sync.Mutex
	assets  []*tallied
}

type tallied struct {
	Asset
	accept string
	done   time.Time
}

func (t *tallyProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	cw := &countingWriter{ResponseWriter: w, status: http.StatusOK}
	if t.blockSW && strings.HasSuffix(r.URL.Path, "/sw.js") {
		http.NotFound(cw, r)
	} else {
		t.proxy.ServeHTTP(cw, r)
	}
	hdr := len(fmt.Sprintf("HTTP/1.1 %d %s\r\n", cw.status, http.StatusText(cw.status))) + 2
	for k, vs := range w.Header() {
		for _, v := range vs {
			hdr += len(k) + 2 + len(v) + 2
		}
	}
	a := &tallied{Asset: Asset{Path: r.URL.Path, Category: category(r.URL.Path), Status: int64(cw.status),
		Encoding: w.Header().Get("Content-Encoding"), Transferred: float64(hdr + cw.n), Body: float64(cw.n)},
		accept: r.Header.Get("Accept-Encoding"), done: time.Now()}
	t.mu.Lock()
	t.assets = append(t.assets, a)
	t.mu.Unlock()
}

type countingWriter struct {
	http.ResponseWriter
	status, n int
}

func (c *countingWriter) WriteHeader(code int) { c.status = code; c.ResponseWriter.WriteHeader(code) }

func (c *countingWriter) Write(b []byte) (int, error) {
	n, err := c.ResponseWriter.Write(b)
	c.n += n
	return n, err
}

func (c *countingWriter) Flush() {
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// diskAssets lists the app's offline files (public/build/assets.json) with their brotli sizes:
// the .br twin scripts/web.sh wrote, or the file itself where there is none (images, tiny files).
func diskAssets(root string) ([]DiskAsset, error) {
	b, err := os.ReadFile(filepath.Join(root, "public", "build", "assets.json"))
	if err != nil {
		return nil, err
	}
	var a struct {
		Files []string `json:"files"`
	}
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("public/build/assets.json: %v", err)
	}
	var out []DiskAsset
	for _, f := range a.Files {
		st, err := os.Stat(filepath.Join(root, f))
		if err != nil {
			return nil, fmt.Errorf("public/build/assets.json lists %s: %v", f, err)
		}
		d := DiskAsset{Path: "/" + f, Category: category("/" + f), Raw: st.Size(), Brotli: st.Size()}
		if br, err := os.Stat(filepath.Join(root, f+".br")); err == nil {
			d.Brotli = br.Size()
		}
		out = append(out, d)
	}
	return out, nil
}
