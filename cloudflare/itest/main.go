//go:build !js

// Command itest checks a running Worker (wrangler dev --local) over HTTP, then load-tests its
// predict route. scripts/test-cloudflare.sh starts the Worker and runs it; any failed check exits 1.
//
// The Worker runs one Go program per isolate (cloudflare/entry.mjs): the first API request
// starts it (the cold start, timed apart), every later one is served by the same program,
// several at a time. isolation checks that concurrent requests never see each other's state.
//
//	go run ./cloudflare/itest -url http://127.0.0.1:PORT -head h.safetensors -features f.npy -cli cli.csv
//
// -cli is the output of `finetune predict -top C` on the same head and features: the Worker must
// give the same probabilities (to the CSV's 6 decimals) as the CLI. -cpu name=pid,... adds each
// process's CPU time per request to the load test's lines; -api-only leaves out the static site
// and the browser, for the Worker run without its assets (plain workerd).
package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"finetuner/cloudflare"
	"finetuner/featio"
	"finetuner/head"
)

var (
	base   = flag.String("url", "", "the Worker, e.g. http://127.0.0.1:8787 (loopback only)")
	headF  = flag.String("head", "", "a head file (.safetensors)")
	featF  = flag.String("features", "", "feature rows (.npy) the head takes")
	cliF   = flag.String("cli", "", "`finetune predict -top C` output for -head and -features")
	nLoad  = flag.Int("n", 2000, "load test: predict requests")
	conc   = flag.Int("c", 10, "load test: concurrent requests")
	budget = flag.Duration("budget", 150*time.Second, "load test: give up after this long")
	chrome = flag.String("browser", "", "chromium binary: also open a share link in it and check the CSP")
	apiF   = flag.Bool("api-only", false, "check the API alone: no static site (a Worker run without its assets, e.g. under plain workerd)")
	cpuF   = flag.String("cpu", "", "name=pid,...: report these processes' CPU time per request in the load test (Linux)")
)

// tol is the CLI's print precision: it writes probabilities with 6 decimals.
const tol = 5e-7 + 1e-7

// client keeps a connection per concurrent request alive: http.DefaultTransport keeps only two
// idle ones per host, so at concurrency 10 most requests would open a new connection.
var client = &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}}

func main() {
	flag.Parse()
	u, err := url.Parse(*base)
	if err != nil || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		fail("-url %q: give the local Worker's loopback address", *base)
	}
	headBytes, err := os.ReadFile(*headF)
	check(err)
	x, n, d, err := featio.ReadFeatures(*featF)
	check(err)
	labels, want := readCLI(*cliF, n)

	coldStart()
	if !*apiF {
		site()
	}
	id := shareChecks(headBytes, labels, d)
	predictAll(id, x, n, d, labels, want)
	badInput(id, d)
	isolation(id, x, n, d, labels, want)
	load(id, x, n, d, labels, want)
	if *chrome != "" && !*apiF {
		browserCheck(*chrome, id, len(headBytes), d)
	}
	fmt.Println("itest: all checks passed")
}

// site checks that the static site comes from the assets with the right types and headers.
func site() {
	r, body := get("/", 200)
	if !strings.HasPrefix(r.Header.Get("Content-Type"), "text/html") || !bytes.Contains(body, []byte(`<script type="module"`)) {
		fail("/: %s, %d bytes: not the page", r.Header.Get("Content-Type"), len(body))
	}
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "'wasm-unsafe-eval'", "worker-src 'self'", "frame-src 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			fail("/: CSP %q lacks %s", csp, want)
		}
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" || r.Header.Get("Cache-Control") != "no-cache" ||
		r.Header.Get("Referrer-Policy") != "no-referrer" || r.Header.Get("Strict-Transport-Security") == "" {
		fail("/: headers %v", r.Header)
	}
	if _, b2 := get("/?head=0123", 200); !bytes.Equal(b2, body) {
		fail("/?head=...: not the page")
	}
	if _, b2 := get("/index.html", 200); !bytes.Equal(b2, body) {
		fail("/index.html: not the page (a redirect would break the service worker's cache)")
	}
	for _, w := range []string{"/public/build/trainer.wasm", "/public/build/plot.wasm"} {
		r, b := get(w, 200)
		if r.Header.Get("Content-Type") != "application/wasm" || !bytes.HasPrefix(b, []byte("\x00asm")) {
			fail("%s: Content-Type %q, %d bytes", w, r.Header.Get("Content-Type"), len(b))
		}
		fmt.Printf("itest: %s application/wasm, %d bytes\n", w, len(b))
	}
	if r, _ := get("/public/sw.js", 200); r.Header.Get("Service-Worker-Allowed") != "/" {
		fail("/public/sw.js: no Service-Worker-Allowed: /")
	}
	if r, _ := get("/public/plot.html", 200); !strings.Contains(r.Header.Get("Content-Security-Policy"), "'wasm-unsafe-eval'") {
		fail("/public/plot.html: CSP %q", r.Header.Get("Content-Security-Policy"))
	}
	get("/js/main.js", 200)
	get("/public/models/manifest.json", 200)
	var hl cloudflare.Health
	_, b := get("/api/health", 200)
	if json.Unmarshal(b, &hl) != nil || hl.Service != "finetuner" {
		fail("/api/health: %s", b)
	}
	wantErr(404, "GET", "/no/such/file", "", nil)
	fmt.Println("itest: site and headers ok")
}

// shareChecks uploads the head twice, fetches it back and reads its metadata.
func shareChecks(b []byte, labels []string, d int) string {
	r, body := do("POST", "/api/heads", "application/octet-stream", b)
	var s cloudflare.Shared
	if r.StatusCode != 201 || json.Unmarshal(body, &s) != nil || s.ID != cloudflare.ContentID(b) || !s.Created {
		fail("upload: %d %s (want 201 and id %s)", r.StatusCode, body, cloudflare.ContentID(b))
	}
	if s.URL != strings.TrimSuffix(*base, "/")+"/?head="+s.ID {
		fail("share URL %q", s.URL)
	}
	r, body = do("POST", "/api/heads", "application/octet-stream", b)
	var again cloudflare.Shared
	if r.StatusCode != 200 || json.Unmarshal(body, &again) != nil || again.ID != s.ID || again.Created {
		fail("second upload of the same bytes: %d %s", r.StatusCode, body)
	}
	r, got := get("/api/heads/"+s.ID, 200)
	if !bytes.Equal(got, b) || !strings.Contains(r.Header.Get("Cache-Control"), "immutable") {
		fail("fetched head: %d bytes (sent %d), Cache-Control %q", len(got), len(b), r.Header.Get("Cache-Control"))
	}
	// HEAD, conditional GET and a CORS preflight: the answers without a body go through the
	// Workers runtime's Response rules (no body on 204/304, exact Content-Length).
	if r, body = do("HEAD", "/api/heads/"+s.ID, "", nil); r.StatusCode != 200 || r.ContentLength != int64(len(b)) || len(body) != 0 {
		fail("HEAD head file: %d, Content-Length %d, %d body bytes", r.StatusCode, r.ContentLength, len(body))
	}
	if r, _ = do("HEAD", "/api/health", "", nil); r.StatusCode != 200 {
		fail("HEAD /api/health: %d", r.StatusCode)
	}
	for _, p := range []string{"/api/heads/" + s.ID, "/api/heads/" + s.ID + "/meta"} {
		req, _ := http.NewRequest("GET", strings.TrimSuffix(*base, "/")+p, nil)
		req.Header.Set("If-None-Match", `"`+s.ID+`"`)
		r, err := client.Do(req)
		check(err)
		r.Body.Close()
		if r.StatusCode != http.StatusNotModified {
			fail("GET %s with If-None-Match: %d, want 304", p, r.StatusCode)
		}
	}
	req, _ := http.NewRequest("OPTIONS", strings.TrimSuffix(*base, "/")+"/api/heads/"+s.ID+"/predict", nil)
	req.Header.Set("Origin", "https://docs.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	r, err := client.Do(req)
	check(err)
	r.Body.Close()
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Access-Control-Allow-Origin") != "*" || !strings.Contains(r.Header.Get("Access-Control-Allow-Methods"), "POST") {
		fail("CORS preflight: %d %v", r.StatusCode, r.Header)
	}
	var m cloudflare.Meta
	_, body = get("/api/heads/"+s.ID+"/meta", 200)
	if json.Unmarshal(body, &m) != nil || m.FeatureDim != d || strings.Join(m.Labels, "\x00") != strings.Join(labels, "\x00") {
		fail("meta %s; want %d features and labels %v", body, d, labels)
	}
	fmt.Printf("itest: shared head %s (%d bytes, %s %d→%d, backbone %q), fetched (GET, HEAD, 304), idempotent, CORS preflight ok\n", s.ID, len(b), m.Kind, m.FeatureDim, m.Classes, m.Backbone)
	return s.ID
}

// predictAll sends every feature row in batches and compares with the CLI.
func predictAll(id string, x []float32, n, d int, labels []string, want [][]float64) {
	maxDiff := 0.0
	for lo := 0; lo < n; lo += cloudflare.MaxPredictRows {
		hi := min(n, lo+cloudflare.MaxPredictRows)
		rows := make([][]float32, 0, hi-lo)
		for i := lo; i < hi; i++ {
			rows = append(rows, x[i*d:(i+1)*d])
		}
		body, _ := json.Marshal(map[string]any{"features": rows})
		r, out := do("POST", "/api/heads/"+id+"/predict", "application/json", body)
		var p cloudflare.PredictionBatch
		if r.StatusCode != 200 || json.Unmarshal(out, &p) != nil || len(p.Probabilities) != hi-lo {
			fail("predict rows %d..%d: %d %.300s", lo, hi, r.StatusCode, out)
		}
		for k, probs := range p.Probabilities {
			maxDiff = max(maxDiff, compare(lo+k, probs, labels, want))
		}
	}
	fmt.Printf("itest: %d rows predicted over HTTP match the CLI (max |Δp| %.2g, CSV precision 5e-7)\n", n, maxDiff)
}

// compare checks one row's probabilities against the CLI's and returns the largest difference.
func compare(row int, probs []float32, labels []string, want [][]float64) float64 {
	if len(probs) != len(labels) {
		fail("row %d: %d probabilities for %d classes", row, len(probs), len(labels))
	}
	worst := 0.0
	for c, p := range probs {
		diff := math.Abs(float64(p) - want[row][c])
		if !(diff <= tol) {
			fail("row %d, class %q: Worker %v, CLI %v", row, labels[c], p, want[row][c])
		}
		worst = max(worst, diff)
	}
	return worst
}

// badInput checks that wrong requests get the right JSON errors.
func badInput(id string, d int) {
	wantErr(422, "POST", "/api/heads", "application/octet-stream", []byte("not a head file at all"))
	wantErr(413, "POST", "/api/heads", "application/octet-stream", bytes.Repeat([]byte{7}, cloudflare.MaxHeadBytes+1))
	wantErr(415, "POST", "/api/heads", "text/plain", []byte("x"))
	wantErr(400, "POST", "/api/heads", "application/octet-stream", nil)
	wantErr(405, "GET", "/api/heads", "", nil)
	wantErr(404, "GET", "/api/heads/"+strings.Repeat("ab", cloudflare.IDLen/2), "", nil)
	wantErr(404, "GET", "/api/heads/nope/meta", "", nil)
	p := "/api/heads/" + id + "/predict"
	row := strings.TrimSuffix(strings.Repeat("0.5,", d), ",")
	wantErr(422, "POST", p, "application/json", []byte(`{"features":[`+row+`,1]}`))
	wantErr(400, "POST", p, "application/json", []byte(`{"features":[NaN,`+row[4:]+`]}`))
	wantErr(422, "POST", p, "application/json", []byte(`{"features":[null,`+row[4:]+`]}`))
	wantErr(422, "POST", p, "application/json", []byte(`{"features":[1e39,`+row[4:]+`]}`))
	wantErr(400, "POST", p, "application/json", []byte(`{"features":[`))
	wantErr(415, "POST", p, "text/plain", []byte(`{"features":[`+row+`]}`))
	wantErr(405, "GET", p, "", nil)
	big := bytes.Repeat([]byte(" "), cloudflare.MaxPredictBytes+1)
	wantErr(413, "POST", p, "application/json", big)
	// Good input still works after all that.
	if r, b := do("POST", p, "application/json", []byte(`{"features":[`+row+`]}`)); r.StatusCode != 200 {
		fail("predict after bad input: %d %s", r.StatusCode, b)
	}
	fmt.Println("itest: bad uploads and predict requests get the right JSON errors (400/404/405/413/415/422)")
}

// load sends *nLoad single-row predict requests, *conc at a time, checks every answer and
// prints the latency distribution; then, for scale, the same for the API's cheapest route (a Go
// instance and no work) and for a static file (no Go at all).
func load(id string, x []float32, n, d int, labels []string, want [][]float64) {
	p := "/api/heads/" + id + "/predict"
	bodies := make([][]byte, n)
	for i := range n {
		bodies[i], _ = json.Marshal(map[string]any{"features": x[i*d : (i+1)*d]})
	}
	// A warm-up round, so the load test times the warm Worker.
	hammer(*conc*5, func(i int) error { _, _, err := try("POST", p, "application/json", bodies[i%n]); return err })
	r := hammer(*nLoad, func(i int) error {
		row := i % n
		trace := fmt.Sprintf("load-%d", i)
		r, out, err := traced("POST", p, "application/json", bodies[row], trace)
		var pr cloudflare.Prediction
		switch {
		case err != nil:
			return err
		case r.StatusCode != 200 || json.Unmarshal(out, &pr) != nil || len(pr.Probabilities) != len(labels):
			return fmt.Errorf("%d %.200s", r.StatusCode, out)
		case r.Header.Get(traceHeader) != trace:
			return fmt.Errorf("answered with trace %q, sent %q", r.Header.Get(traceHeader), trace)
		}
		for c, v := range pr.Probabilities {
			if !(math.Abs(float64(v)-want[row][c]) <= tol) {
				return fmt.Errorf("row %d, class %d: %v, CLI %v", row, c, v, want[row][c])
			}
		}
		return nil
	})
	fmt.Printf("itest: load: %d predict requests (1 row of %d each), concurrency %d, all correct: %s\n", len(r.lat), d, *conc, r)
	p50, p99 := quantile(r.lat, 0.5), quantile(r.lat, 0.99)
	verdict := "met"
	if p50 > 10*time.Millisecond || p99 > 50*time.Millisecond {
		verdict = "MISSED"
	}
	fmt.Printf("itest: load: warm predict p50 %.1f ms, p99 %.1f ms (goal: p50 ≤ 10 ms, p99 ≤ 50 ms): %s\n", ms(p50), ms(p99), verdict)
	// One at a time: what a request costs without waiting behind others in wrangler dev's
	// single local process.
	r = hammerC(*nLoad/10, 1, func(i int) error {
		r, out, err := try("POST", p, "application/json", bodies[i%n])
		if err == nil && r.StatusCode != 200 {
			err = fmt.Errorf("%d %.200s", r.StatusCode, out)
		}
		return err
	})
	fmt.Printf("itest: load: %d predict requests one at a time: %s\n", len(r.lat), r)

	controls := []struct{ what, path, ctype string }{
		{"GET /api/health (Go, no work)", "/api/health", "application/json"},
		{"GET /public/icon.svg (static, no Go)", "/public/icon.svg", "image/svg+xml"},
	}
	if *apiF {
		controls = controls[:1]
	}
	for _, c := range controls {
		r := hammer(*nLoad/2, func(int) error {
			r, _, err := try("GET", c.path, "", nil)
			if err == nil && (r.StatusCode != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), c.ctype)) {
				err = fmt.Errorf("%d %s", r.StatusCode, r.Header.Get("Content-Type"))
			}
			return err
		})
		fmt.Printf("itest: load: %d × %s, concurrency %d: %s\n", len(r.lat), c.what, *conc, r)
	}
}

// run is one load test's sorted latencies, wall time, and the CPU time the -cpu processes and
// itest spent on it.
type run struct {
	lat  []time.Duration
	wall time.Duration
	cpu  string
}

// hammer runs fn(0..count-1), *conc at a time, within *budget. Any error fails the test.
func hammer(count int, fn func(i int) error) run {
	return hammerC(count, *conc, fn)
}

// hammerC is hammer with conc requests at a time.
func hammerC(count, conc int, fn func(i int) error) run {
	ps := procs()
	cpu0 := cpuTimes(ps)
	lat := make([]time.Duration, count)
	errs := make(chan string, count)
	next := make(chan int)
	deadline := time.Now().Add(*budget)
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				t0 := time.Now()
				err := fn(i)
				lat[i] = time.Since(t0)
				if err != nil {
					errs <- fmt.Sprintf("request %d: %v", i, err)
				}
			}
		}()
	}
	sent := 0
	for ; sent < count && time.Now().Before(deadline); sent++ {
		next <- sent
	}
	close(next)
	wg.Wait()
	wall := time.Since(start)
	cpu := cpuPerRequest(ps, cpu0, cpuTimes(ps), count)
	close(errs)
	bad := 0
	for e := range errs {
		if bad < 5 {
			fmt.Fprintln(os.Stderr, "itest: load:", e)
		}
		bad++
	}
	if sent < count {
		fail("load test: only %d of %d requests sent within %v", sent, count, *budget)
	}
	if bad > 0 {
		fail("load test: %d of %d requests failed or answered wrongly", bad, sent)
	}
	slices.Sort(lat)
	return run{lat, wall, cpu}
}

// String gives the median, p95, p99 and max latency, the throughput and the CPU time per request.
func (r run) String() string {
	return fmt.Sprintf("median %.1f ms, p95 %.1f ms, p99 %.1f ms, max %.1f ms, %.0f req/s over %.1f s; %s",
		ms(quantile(r.lat, 0.5)), ms(quantile(r.lat, 0.95)), ms(quantile(r.lat, 0.99)), ms(r.lat[len(r.lat)-1]),
		float64(len(r.lat))/r.wall.Seconds(), r.wall.Seconds(), r.cpu)
}

// quantile returns the q-quantile of sorted latencies (nearest rank).
func quantile(lat []time.Duration, q float64) time.Duration {
	return lat[min(len(lat)-1, int(q*float64(len(lat))))]
}

func ms(d time.Duration) float64 { return float64(d) / 1e6 }

// readCLI reads `finetune predict -top C` output into per-row probabilities in the head's label
// order.
func readCLI(path string, n int) ([]string, [][]float64) {
	f, err := os.Open(path)
	check(err)
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	check(err)
	if len(recs) != n+1 {
		fail("%s: %d rows, want %d and a header", path, len(recs)-1, n)
	}
	b, err := os.ReadFile(*headF)
	check(err)
	labels := headLabels(b)
	idx := map[string]int{}
	for i, l := range labels {
		idx[l] = i
	}
	want := make([][]float64, n)
	for i, rec := range recs[1:] {
		if len(rec) != 1+2*len(labels) {
			fail("%s row %d: %d fields; run predict with -top %d", path, i, len(rec), len(labels))
		}
		want[i] = make([]float64, len(labels))
		for k := 1; k < len(rec); k += 2 {
			c, ok := idx[rec[k]]
			if !ok {
				fail("%s row %d: unknown class %q", path, i, rec[k])
			}
			want[i][c], err = strconv.ParseFloat(rec[k+1], 64)
			check(err)
		}
	}
	return labels, want
}

// headLabels returns the head's labels in output order, read by the code the Worker runs.
func headLabels(b []byte) []string {
	m, err := head.ReadModel(b)
	check(err)
	return m.Labels
}

func get(path string, status int) (*http.Response, []byte) {
	r, b := do("GET", path, "", nil)
	if r.StatusCode != status {
		fail("GET %s: %d, want %d: %.200s", path, r.StatusCode, status, b)
	}
	return r, b
}

func do(method, path, ctype string, body []byte) (*http.Response, []byte) {
	r, b, err := try(method, path, ctype, body)
	check(err)
	return r, b
}

func try(method, path, ctype string, body []byte) (*http.Response, []byte, error) {
	return traced(method, path, ctype, body, "")
}

// traced sends a request with the trace header set (when trace is not empty).
func traced(method, path, ctype string, body []byte, trace string) (*http.Response, []byte, error) {
	req, err := http.NewRequest(method, strings.TrimSuffix(*base, "/")+path, bytes.NewReader(body))
	if err != nil {
		return nil, nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	if trace != "" {
		req.Header.Set(traceHeader, trace)
	}
	r, err := client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer r.Body.Close()
	b, err := io.ReadAll(r.Body)
	return r, b, err
}

// wantErr sends a request and checks that it gets a JSON error with the given status.
func wantErr(status int, method, path, ctype string, reqBody []byte) {
	r, body := do(method, path, ctype, reqBody)
	var e struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}
	if r.StatusCode != status || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") ||
		json.Unmarshal(body, &e) != nil || e.Error == "" || e.Status != status {
		fail("%s %s: %d %q %.200s, want a JSON %d", r.Request.Method, r.Request.URL.Path, r.StatusCode, r.Header.Get("Content-Type"), body, status)
	}
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "itest: FAIL: "+format+"\n", args...)
	os.Exit(1)
}
