//go:build !js

package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
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
	FromSW      bool    `json:"fromServiceWorker"`
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
	URL            string      `json:"url"`
	AcceptEncoding string      `json:"acceptEncoding"`
	ReadyMs        float64     `json:"readyMs"` // navigation start → body[data-ready]
	LoadMs         float64     `json:"loadMs"`  // navigation start → load event
	Assets         []Asset     `json:"assets"`
	Disk           []DiskAsset `json:"disk"`
	Note           string      `json:"note,omitempty"`
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
	tmp, err := os.MkdirTemp("", "bench-weight-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "serve")
	build := exec.Command("go", "build", "-o", bin, "./cmd/serve")
	build.Dir = root
	if b, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./cmd/serve: %v\n%s", err, b)
	}
	srv := exec.Command(bin, "-root", root, "-q")
	srv.Env = append(os.Environ(), "PORT=0")
	stdout, err := srv.StdoutPipe()
	if err != nil {
		return nil, err
	}
	srv.Stderr = os.Stderr
	if err := srv.Start(); err != nil {
		return nil, err
	}
	defer func() {
		srv.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { srv.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			srv.Process.Kill()
		}
	}()
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
	var base string
	select {
	case base = <-urlc:
	case <-time.After(20 * time.Second):
		return nil, errors.New("cmd/serve printed no URL within 20 s")
	}
	log.Printf("page weight: cold load of %s", base)

	bctx, cancel := newBrowser(ctx, exe, filepath.Join(tmp, "profile"))
	defer cancel()
	type req struct {
		url, enc, accept string
		status           int64
		fromSW           bool
		done, failed     bool
		transferred      float64
		body             float64
		seq              int
	}
	var mu sync.Mutex
	reqs := map[network.RequestID]*req{}
	finished := 0
	var off offLoopback
	if err := chromedp.Listen(bctx, func(ev any) {
		mu.Lock()
		defer mu.Unlock()
		switch e := ev.(type) {
		case *network.EventRequestWillBeSent:
			off.see(e.Request.URL)
			reqs[e.RequestID] = &req{url: e.Request.URL}
		case *network.EventResponseReceived:
			if r := reqs[e.RequestID]; r != nil {
				r.status = e.Response.Status
				r.fromSW = e.Response.FromServiceWorker
				r.enc = header(e.Response.Headers, "Content-Encoding")
				r.accept = header(e.Response.RequestHeaders, "Accept-Encoding")
			}
		case *network.EventLoadingFinished:
			if r := reqs[e.RequestID]; r != nil {
				finished++
				r.done, r.transferred, r.body, r.seq = true, e.EncodedDataLength, e.EncodedBodyLength, finished
			}
		case *network.EventLoadingFailed:
			if r := reqs[e.RequestID]; r != nil {
				r.failed = true
			}
		}
	}); err != nil {
		return nil, fmt.Errorf("starting chromium: %v", err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		return nil, err
	}
	if _, err := chromedp.Call(bctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: readyScript}); err != nil {
		return nil, err
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(base)); err != nil {
		return nil, fmt.Errorf("loading the app: %v", err)
	}
	readyMs, err := chromedp.Run(bctx, chromedp.Poll[float64](`window.__benchReadyAt`,
		chromedp.WithPollingInterval(20*time.Millisecond), chromedp.WithPollingTimeout(180*time.Second)))
	if err != nil {
		errs, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.getElementById('errors')?.innerText || ''`))
		return nil, fmt.Errorf("the app did not become ready (body[data-ready]) within 180 s: %v; page errors: %q", err, errs)
	}
	mu.Lock()
	readyCount := finished
	mu.Unlock()
	// Requests that start after ready (the service worker's precache of every asset) are reported
	// apart; give them a moment.
	time.Sleep(3 * time.Second)
	loadMs, err := chromedp.Run(bctx, chromedp.Evaluate[float64](`performance.getEntriesByType('navigation')[0]?.loadEventEnd || 0`))
	if err != nil {
		return nil, err
	}
	if err := off.err(); err != nil {
		return nil, err
	}
	w := &Weight{URL: base, ReadyMs: readyMs, LoadMs: loadMs,
		Note: "Requests of the page and its dedicated workers; the service worker's own precache fetches are not in this list (see the on-disk table)."}
	mu.Lock()
	for _, r := range reqs {
		if !r.done || r.failed {
			continue
		}
		u, err := url.Parse(r.url)
		if err != nil || u.Host == "" {
			continue
		}
		if w.AcceptEncoding == "" {
			w.AcceptEncoding = r.accept
		}
		w.Assets = append(w.Assets, Asset{Path: u.Path, Category: category(u.Path), Status: r.status, Encoding: r.enc,
			Transferred: r.transferred, Body: r.body, BeforeReady: r.seq <= readyCount, FromSW: r.fromSW})
	}
	mu.Unlock()
	sort.Slice(w.Assets, func(i, j int) bool { return w.Assets[i].Transferred > w.Assets[j].Transferred })
	for _, a := range w.Assets {
		if a.Status >= 400 {
			return nil, fmt.Errorf("the app's cold load got HTTP %d for %s", a.Status, a.Path)
		}
	}
	disk, err := diskAssets(root)
	if err != nil {
		return nil, err
	}
	w.Disk = disk
	return w, nil
}

func header(h network.Headers, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return fmt.Sprint(v)
		}
	}
	return ""
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
