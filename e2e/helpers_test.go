//go:build !js

package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"finetuner/internal/headless"

	"github.com/chromedp/chromedp"
)

// repoRoot is the module root: e2e/ sits right under it.
func repoRoot(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Dir(wd)
}

// chromiumPath finds Debian's chromium. Under CI=true a missing browser fails the test: a skipped
// browser test would hide that nothing was checked.
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, p := range []string{os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatal("chromium not found (apt-get install -y chromium); the browser tests cannot be skipped in CI")
	}
	t.Skip("chromium not found; install Debian's chromium to run the browser tests")
	return ""
}

// server runs cmd/serve on a free port of 127.0.0.1 and returns its URL and a stop function.
type server struct {
	URL  string
	cmd  *exec.Cmd
	done chan struct{}
}

func startServer(t *testing.T, root string) *server {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "serve")
	build := exec.Command("go", "build", "-o", bin, "./cmd/serve")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/serve: %v\n%s", err, out)
	}
	cmd := exec.Command(bin, "-root", root, "-q")
	cmd.Env = append(os.Environ(), "PORT=0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(s.done) }()
	line := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if m := regexp.MustCompile(`http://127\.0\.0\.1:\d+/`).FindString(sc.Text()); m != "" {
				line <- m
			}
		}
	}()
	select {
	case s.URL = <-line:
	case <-time.After(20 * time.Second):
		s.stop()
		t.Fatal("cmd/serve printed no URL within 20 s")
	}
	t.Cleanup(s.stop)
	return s
}

func (s *server) stop() {
	if s.cmd.Process != nil {
		s.cmd.Process.Signal(os.Interrupt)
		select {
		case <-s.done:
		case <-time.After(5 * time.Second):
			s.cmd.Process.Kill()
		}
	}
}

// browser starts headless chromium with the project's flags (internal/headless), a fake webcam,
// and a NetLog that records every request any part of the browser makes.
func startBrowser(t *testing.T, exe, netlog, downloads string) (context.Context, context.CancelFunc) {
	t.Helper()
	opts := headless.Options(exe, t.TempDir(), 1400, 1000, append(headless.FakeWebcam, headless.NetLog(netlog)...)...)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelC := chromedp.NewContext(actx, chromedp.WithLogf(t.Logf))
	return ctx, func() { cancelC(); cancelA() }
}

// js evaluates an expression (awaiting a promise) and decodes its value.
func js[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	c, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	v, err := chromedp.Run(c, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		t.Fatalf("evaluating %s: %v", short(expr), err)
	}
	return v
}

// waitFor polls a boolean expression until it is true; on timeout it fails with the page's
// error banners, which usually say why.
func waitFor(t *testing.T, ctx context.Context, expr string, timeout time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		c, cancel := context.WithTimeout(ctx, 30*time.Second)
		ok, err := chromedp.Run(c, chromedp.Evaluate[bool]("!!("+expr+")", chromedp.EvalAwaitPromise))
		cancel()
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			errs, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.getElementById('errors')?.innerText || ''`))
			dbg, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`JSON.stringify({extraction: window.finetuner?.extraction?.(), samples: window.finetuner?.state.samples.size, status: document.getElementById('train-status')?.textContent})`))
			t.Fatalf("timed out after %v waiting for %s (%v); page errors: %q; state %s", timeout, what, err, errs, dbg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func short(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 120 {
		return s[:120] + "…"
	}
	return s
}

func noErrors(t *testing.T, ctx context.Context, when string) {
	t.Helper()
	if e := js[string](t, ctx, `document.getElementById('errors').innerText`); strings.TrimSpace(e) != "" {
		t.Fatalf("%s: the page shows errors: %s", when, e)
	}
}

func screenshot(t *testing.T, ctx context.Context, sel, path string) image.Image {
	t.Helper()
	var buf []byte
	var err error
	if sel == "" {
		buf, err = chromedp.Run(ctx, chromedp.FullScreenshot(100))
	} else {
		buf, err = chromedp.Run(ctx, chromedp.Screenshot(chromedp.CSS(sel)))
	}
	if err != nil {
		t.Fatalf("screenshot %q: %v", sel, err)
	}
	if err := os.WriteFile(path, buf, 0o644); err != nil {
		t.Fatal(err)
	}
	img, _, err := image.Decode(bytes.NewReader(buf))
	if err != nil {
		t.Fatalf("screenshot %q: %v", sel, err)
	}
	return img
}

var _ = png.Decode

// pixelStats counts distinct colours, dark pixels and pixels near each of the given colours.
type pixelStats struct {
	total, distinct, dark int
	near                  []int
}

func stats(img image.Image, r image.Rectangle, targets ...color.RGBA) pixelStats {
	r = r.Intersect(img.Bounds())
	st := pixelStats{near: make([]int, len(targets))}
	seen := map[uint32]bool{}
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			R, G, B := int(cr>>8), int(cg>>8), int(cb>>8)
			st.total++
			seen[uint32(R)<<16|uint32(G)<<8|uint32(B)] = true
			if R+G+B < 60 {
				st.dark++
			}
			for i, c := range targets {
				if abs(R-int(c.R)) < 40 && abs(G-int(c.G)) < 40 && abs(B-int(c.B)) < 40 {
					st.near[i]++
				}
			}
		}
	}
	st.distinct = len(seen)
	return st
}

func abs(a int) int {
	if a < 0 {
		return -a
	}
	return a
}

// netRequest is one URL request from the NetLog, with the origin that initiated it: a page,
// worker or frame gives its origin; the browser's own traffic (component updates and the like,
// which no page can cause or stop) says "not an origin".
type netRequest struct{ initiator, url string }

// netlogRequests returns the requests of a NetLog. The log is JSON, but a browser stopped hard
// leaves it unterminated, so each request's start-job parameters (keys in alphabetical order:
// initiator … url) are picked out by pattern.
func netlogRequests(t *testing.T, path string) []netRequest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading the NetLog: %v", err)
	}
	s := string(b)
	seen := map[netRequest]bool{}
	var out []netRequest
	for _, m := range regexp.MustCompile(`"initiator":"([^"]*)"`).FindAllStringSubmatchIndex(s, -1) {
		rest := s[m[1]:min(len(s), m[1]+4000)]
		if next := strings.Index(rest, `"initiator":`); next >= 0 {
			rest = rest[:next]
		}
		u := regexp.MustCompile(`"url":"([^"]+)"`).FindStringSubmatch(rest)
		if u == nil {
			continue
		}
		r := netRequest{s[m[2]:m[3]], u[1]}
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// netlogURLs returns every distinct URL of the NetLog's requests, whoever initiated them.
func netlogURLs(t *testing.T, path string) []string {
	t.Helper()
	seen := map[string]bool{}
	var out []string
	for _, r := range netlogRequests(t, path) {
		if !seen[r.url] {
			seen[r.url] = true
			out = append(out, r.url)
		}
	}
	return out
}

func mustf(t *testing.T, ok bool, format string, args ...any) {
	t.Helper()
	if !ok {
		t.Fatalf(format, args...)
	}
}

var _ = fmt.Sprintf

// browserTest starts a browser test: it skips unless FINETUNER_E2E=1 (script, which builds the
// site first, sets it), and returns the chromium to drive and the repository root, failing if a
// built file the test needs is missing.
func browserTest(t *testing.T, script string, built ...string) (exe, root string) {
	t.Helper()
	if os.Getenv("FINETUNER_E2E") != "1" {
		t.Skipf("browser test: set FINETUNER_E2E=1 (%s builds the site and does)", script)
	}
	exe, root = chromiumPath(t), repoRoot(t)
	for _, f := range built {
		if _, err := os.Stat(filepath.Join(root, f)); err != nil {
			t.Fatalf("%s is missing: run %s (it builds the site)", f, script)
		}
	}
	return exe, root
}

// e2eOut is where screenshots and logs go: $E2E_OUT, or a temporary folder.
func e2eOut(t *testing.T) string {
	out := os.Getenv("E2E_OUT")
	if out == "" {
		out = t.TempDir()
	}
	os.MkdirAll(out, 0o755)
	return out
}
