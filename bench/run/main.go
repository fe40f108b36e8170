//go:build !js

// Command run is the benchmark driver behind `./build.sh bench` (scripts/bench.sh) and its CI
// smoke version (scripts/test-bench.sh). It stages the bench page (bench/web), TensorFlow.js's
// pinned dist files and .wasm binaries from node_modules, and our bench wasm (bench/wasm) into
// bench/out/site; serves it on 127.0.0.1; runs Debian's headless Chromium through chromedp;
// calls the page's runBench with the plan; measures the app's cold load (page weight) with
// cmd/serve; and writes bench/out/results.json, bench/out/report.md and bench/out/ms-per-epoch.png.
//
//	go run ./bench/run            # the full benchmark (minutes)
//	go run ./bench/run -smoke     # tiny sizes, one repetition: checks the harness end to end
//
// Any error anywhere (a failed build, a page error, a request that leaves the machine, results
// that do not add up) ends the run with a non-zero status.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"time"

	"finetuner/internal/headless"

	"github.com/chromedp/cdproto/network"
	cdpruntime "github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"finetuner/featio"
)

var (
	smoke    = flag.Bool("smoke", false, "tiny sizes and one repetition: a quick end-to-end check of the harness")
	outDir   = flag.String("out", "bench/out", "output folder (site, results.json, report.md, plot)")
	reps     = flag.Int("reps", 3, "timed repetitions of each engine per workload (interleaved)")
	parts    = flag.String("parts", "heads,ttq,gemm,backbone,weight,scale,extract", "parts to run, comma-separated")
	kernelsF = flag.String("kernels", "simd128", "our Go kernels: simd128 (Go 1.27, GOEXPERIMENT=simd; the app's default where WebAssembly SIMD works) or scalar")
	browser  = flag.String("chromium", "", "Chromium executable (default: $CHROMIUM, /usr/bin/chromium)")
	scaleCap = flag.Int("scale-cap", 3200000, "largest N the scale search tries")
	only     = flag.String("workloads", "W1,W2,W3,W4", "head-training workloads to run, comma-separated")
	from     = flag.String("from", "", "render report.md and the plot again from this results.json, without running anything")
	timeout  = flag.Duration("timeout", 60*time.Minute, "give up after this long")
)

func main() {
	log.SetFlags(0)
	log.SetPrefix("bench: ")
	flag.Parse()
	if *smoke {
		*reps = 1
	}
	if *reps < 1 {
		log.Fatal("-reps must be at least 1")
	}
	want := map[string]bool{}
	for _, p := range strings.Split(*parts, ",") {
		switch p = strings.TrimSpace(p); p {
		case "heads", "ttq", "gemm", "backbone", "weight", "scale", "extract":
			want[p] = true
		case "":
		default:
			log.Fatalf("unknown part %q (heads, ttq, gemm, backbone, weight, scale, extract)", p)
		}
	}
	if *kernelsF != "simd128" && *kernelsF != "scalar" {
		log.Fatalf("-kernels %q: simd128 or scalar", *kernelsF)
	}
	if *from != "" {
		if err := rerender(*from); err != nil {
			log.Fatal(err)
		}
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := run(ctx, want); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, want map[string]bool) error {
	root, err := moduleRoot()
	if err != nil {
		return err
	}
	out, err := filepath.Abs(filepath.Join(root, *outDir))
	if *outDir != "" && filepath.IsAbs(*outDir) {
		out = *outDir
	}
	if err != nil {
		return err
	}
	exe, err := chromiumPath()
	if err != nil {
		return err
	}
	m := machine(exe)
	m.LoadStart = loadavg()
	started := time.Now()

	site := filepath.Join(out, "site")
	log.Printf("staging %s", site)
	plan, err := stage(root, site, want)
	if err != nil {
		return err
	}

	var res Results
	if want["heads"] || want["ttq"] || want["gemm"] || want["backbone"] || want["scale"] {
		raw, tfwasm, err := runPage(ctx, exe, root, site, plan)
		if err != nil {
			return err
		}
		if err := json.Unmarshal(raw, &res); err != nil {
			return fmt.Errorf("the page's results: %v", err)
		}
		res.Raw = raw
		res.TFJSWasmBinary = tfwasm
	}
	if want["weight"] {
		w, err := pageWeight(ctx, exe, root)
		if err != nil {
			return fmt.Errorf("page weight: %w", err)
		}
		res.Weight = w
	}
	if want["extract"] {
		x, err := extractRate(ctx, exe, root)
		if err != nil {
			return fmt.Errorf("extraction: %w", err)
		}
		res.Extract = x
	}
	m.LoadEnd = loadavg()
	m.Duration = time.Since(started).Round(time.Second).String()
	res.Machine = m
	res.Smoke = *smoke
	if err := check(&res, plan); err != nil {
		return err
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	js, err := json.MarshalIndent(res, "", " ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "results.json"), js, 0o644); err != nil {
		return err
	}
	if len(res.Heads) > 0 {
		if err := plotHeads(filepath.Join(out, "ms-per-epoch.png"), res.Heads); err != nil {
			return fmt.Errorf("plot: %v", err)
		}
	}
	md := report(&res)
	if err := os.WriteFile(filepath.Join(out, "report.md"), []byte(md), 0o644); err != nil {
		return err
	}
	fmt.Print(md)
	log.Printf("wrote %s/{results.json,report.md,ms-per-epoch.png} in %s", out, m.Duration)
	return nil
}

// rerender reads a results.json and writes report.md and ms-per-epoch.png beside it.
func rerender(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	var r Results
	if err := json.Unmarshal(b, &r); err != nil {
		return fmt.Errorf("%s: %v", path, err)
	}
	// The page's own answer holds every field, including ones added to the report since.
	if len(r.Raw) > 0 {
		if err := json.Unmarshal(r.Raw, &r); err != nil {
			return fmt.Errorf("%s: page: %v", path, err)
		}
	}
	dir := filepath.Dir(path)
	if len(r.Heads) > 0 {
		if err := plotHeads(filepath.Join(dir, "ms-per-epoch.png"), r.Heads); err != nil {
			return err
		}
	}
	md := report(&r)
	fmt.Print(md)
	return os.WriteFile(filepath.Join(dir, "report.md"), []byte(md), 0o644)
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil && strings.HasPrefix(string(b), "module finetuner") {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("run from inside the finetuner module (no go.mod found)")
		}
		dir = parent
	}
}

func chromiumPath() (string, error) {
	for _, p := range []string{*browser, os.Getenv("CHROMIUM"), "/usr/bin/chromium", "/usr/bin/chromium-browser"} {
		if p == "" {
			continue
		}
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	return "", errors.New("chromium not found: apt-get install -y chromium (or set CHROMIUM)")
}

// ---- the plan -----------------------------------------------------------------------------------

// Workload is one head-training workload, as bench-host.js reads it.
type Workload struct {
	Name         string  `json:"name"`
	N            int     `json:"n"`
	D            int     `json:"d"`
	Classes      int     `json:"classes"`
	Hidden       int     `json:"hidden,omitempty"`
	NoOutputBias bool    `json:"noOutputBias,omitempty"`
	Batch        int     `json:"batch"`
	Epochs       int     `json:"epochs"`
	LR           float64 `json:"lr"`
	Seed         int     `json:"seed"`
	Sep          float64 `json:"sep"`
	Desc         string  `json:"desc"`
	Goal         float64 `json:"goal,omitempty"` // tfjs-wasm ÷ ours to reach
}

// Plan is what the page runs; nil parts are skipped.
type Plan struct {
	Heads *struct {
		Workloads []Workload `json:"workloads"`
		Engines   []string   `json:"engines"`
		Reps      int        `json:"reps"`
	} `json:"heads,omitempty"`
	TTQ       *TTQPlan  `json:"ttq,omitempty"`
	Gemm      *GemmPlan `json:"gemm,omitempty"`
	Backbones *struct {
		IDs     []string `json:"ids"`
		Photo   string   `json:"photo"`
		Reps    int      `json:"reps"`
		Batches []int    `json:"batches"`
	} `json:"backbones,omitempty"`
	Scale *ScalePlan `json:"scale,omitempty"`
}

// workloads are the head-training workloads of the speed goals (head/bench_test.go has the same
// shapes for the Go benchmarks). Epochs are fewer for the big ones so the full run takes minutes.
func workloads() []Workload {
	w := []Workload{
		{Name: "W1", N: 1000, D: 1280, Classes: 10, Batch: 32, Epochs: 20, Goal: 2.5},
		{Name: "W2", N: 1000, D: 1280, Classes: 10, Hidden: 100, NoOutputBias: true, Batch: 16, Epochs: 8, Goal: 2,
			Desc: "Teachable Machine's head: "},
		{Name: "W3", N: 10000, D: 1280, Classes: 10, Batch: 32, Epochs: 3, Goal: 2.5},
		{Name: "W4", N: 50000, D: 480, Classes: 20, Batch: 32, Epochs: 2, Desc: "scale: "},
	}
	for i := range w {
		w[i].LR, w[i].Seed, w[i].Sep = 1e-3, i+1, 0.05
		if *smoke {
			w[i].N = min(w[i].N/10, 1000)
			w[i].Epochs = 2
		}
		arch := fmt.Sprintf("Dense(%d)", w[i].Classes)
		if w[i].Hidden > 0 {
			arch = fmt.Sprintf("Dense(%d, relu) → Dense(%d, no bias)", w[i].Hidden, w[i].Classes)
		}
		w[i].Desc += fmt.Sprintf("N=%d, D=%d, %s, Adam 1e-3, batch %d, %d epochs", w[i].N, w[i].D, arch, w[i].Batch, w[i].Epochs)
	}
	keep := map[string]bool{}
	for _, n := range strings.Split(*only, ",") {
		keep[strings.TrimSpace(n)] = true
	}
	var picked []Workload
	for _, x := range w {
		if keep[x.Name] {
			picked = append(picked, x)
		}
	}
	return picked
}

// stage fills site with the page, tfjs, our bench wasm and the data, and returns the plan.
func stage(root, site string, want map[string]bool) (*Plan, error) {
	if err := os.RemoveAll(site); err != nil {
		return nil, err
	}
	for _, d := range []string{"vendor", "build", "data"} {
		if err := os.MkdirAll(filepath.Join(site, d), 0o755); err != nil {
			return nil, err
		}
	}
	web := filepath.Join(root, "bench", "web")
	entries, err := os.ReadDir(web)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		if !e.IsDir() {
			if err := copyFile(filepath.Join(site, e.Name()), filepath.Join(web, e.Name())); err != nil {
				return nil, err
			}
		}
	}
	nm := filepath.Join(root, "node_modules", "@tensorflow")
	for dst, src := range map[string]string{
		"tf.min.js":                            "tfjs/dist/tf.min.js",
		"tf-backend-wasm.min.js":               "tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
		"tfjs-backend-wasm.wasm":               "tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
		"tfjs-backend-wasm-simd.wasm":          "tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
		"tfjs-backend-wasm-threaded-simd.wasm": "tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
	} {
		if err := copyFile(filepath.Join(site, "vendor", dst), filepath.Join(nm, src)); err != nil {
			return nil, fmt.Errorf("%v (run npm ci: package.json pins @tensorflow/tfjs and tfjs-backend-wasm 4.22.0)", err)
		}
	}
	goroot, err := exec.Command("go", "env", "GOROOT").Output()
	if err != nil {
		return nil, fmt.Errorf("go env GOROOT: %v", err)
	}
	if err := copyFile(filepath.Join(site, "build", "wasm_exec.js"), filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js")); err != nil {
		return nil, err
	}
	log.Printf("go build ./bench/wasm (GOOS=js GOARCH=wasm, %s kernels)", *kernelsF)
	build := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(site, "build", "bench.wasm"), "./bench/wasm")
	build.Dir = root
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	if *kernelsF == "simd128" {
		build.Env = append(build.Env, simdEnv()...)
	}
	if b, err := build.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go build ./bench/wasm: %v\n%s", err, b)
	}

	p := &Plan{}
	if want["heads"] {
		if len(workloads()) == 0 {
			return nil, fmt.Errorf("-workloads %q names none of W1, W2, W3, W4", *only)
		}
		p.Heads = &struct {
			Workloads []Workload `json:"workloads"`
			Engines   []string   `json:"engines"`
			Reps      int        `json:"reps"`
		}{workloads(), []string{"ours", "tfjs-wasm", "tfjs-cpu"}, *reps}
	}
	if want["ttq"] {
		sets, err := stageTTQ(root, filepath.Join(site, "data"))
		if err != nil {
			return nil, err
		}
		p.TTQ = &TTQPlan{sets, *reps, 50, 16, 1e-3, 0.2, 1, 0.005}
		if *smoke {
			p.TTQ.Epochs = 5
		}
	}
	if want["gemm"] {
		p.Gemm = &GemmPlan{Shapes: gemmShapes, MinMs: 300}
		if *smoke {
			p.Gemm.MinMs = 20
		}
	}
	if want["backbone"] {
		ids, err := modelIDs(root)
		if err != nil {
			return nil, err
		}
		photo := ""
		if f := firstPhoto(); f != "" {
			if err := copyFile(filepath.Join(site, "data", "photo.png"), f); err != nil {
				return nil, err
			}
			photo = "data/photo.png"
		}
		p.Backbones = &struct {
			IDs     []string `json:"ids"`
			Photo   string   `json:"photo"`
			Reps    int      `json:"reps"`
			Batches []int    `json:"batches"`
		}{ids, photo, 2 * *reps, []int{1, 8}}
		if *smoke {
			p.Backbones.IDs, p.Backbones.Reps, p.Backbones.Batches = ids[:1], 1, []int{1}
		}
	}
	if want["scale"] {
		s := &ScalePlan{Engine: "app", Sizes: []int{1000, 10000, 50000}, D: 480, Classes: 20, Epochs: 1, ValFraction: 0.2, TimeoutMs: 5 * 60 * 1000}
		if *smoke {
			// CI runs this before the site is built: the bench entry runs the same head.Train.
			s.Engine, s.Sizes = "bench", []int{1000}
		} else {
			s.Trainer = "trainer.wasm"
			if *kernelsF == "simd128" {
				s.Trainer = "trainer-simd.wasm"
			}
			if _, err := os.Stat(filepath.Join(root, "public", "build", s.Trainer)); err != nil {
				return nil, fmt.Errorf("the scale part runs the app's trainer: %v (run ./build.sh web first)", err)
			}
			s.Search = &ScaleSearch{Start: 100000, Cap: *scaleCap}
		}
		p.Scale = s
	}
	return p, nil
}

// ScalePlan is the scale part of the plan: one training run per size of blobs, each in a fresh
// worker, through the app's trainer ("app": public/build/trainer.wasm) or the bench entry ("bench":
// bench/wasm), and optionally a search doubling the size from Start until a run fails or Cap.
type ScalePlan struct {
	Engine      string       `json:"engine"`
	Trainer     string       `json:"trainer"` // the app's trainer file: trainer-simd.wasm or trainer.wasm
	Sizes       []int        `json:"sizes"`
	D           int          `json:"d"`
	Classes     int          `json:"classes"`
	Epochs      int          `json:"epochs"`
	ValFraction float64      `json:"valFraction"`
	TimeoutMs   int          `json:"timeoutMs"`
	Search      *ScaleSearch `json:"search,omitempty"`
}

// ScaleSearch bounds the scale part's doubling search.
type ScaleSearch struct {
	Start int `json:"start"`
	Cap   int `json:"cap"`
}

// TTQPlan is the time-to-quality part of the plan: the data sets and Teachable Machine's recipe
// (epochs, batch, learning rate, validation fraction, seed) with the tolerance to its final accuracy.
type TTQPlan struct {
	Sets        []TTQSet `json:"sets"`
	Reps        int      `json:"reps"`
	Epochs      int      `json:"epochs"`
	Batch       int      `json:"batch"`
	LR          float64  `json:"lr"`
	ValFraction float64  `json:"valFraction"`
	Seed        int      `json:"seed"`
	Tol         float64  `json:"tol"`
}

// TTQSet is one data set of real features for the time-to-quality part.
type TTQSet struct {
	Features string `json:"features"` // raw little-endian float32, rows × dim
	Meta     string `json:"meta"`     // {n, d, labels, y, source}
}

// stageTTQ writes the time-to-quality data sets: the app's demo set (public/demo, from
// scripts/web.sh) through the default backbone, extracted natively with the CLI, when it is there
// and this is not a smoke run; and the 220 real backbone features of Tux Paint photos (7 classes,
// the demo set's source) in head/testdata, a larger validation split.
func stageTTQ(root, dir string) ([]TTQSet, error) {
	var sets []TTQSet
	if _, err := os.Stat(filepath.Join(root, "public", "demo", "manifest.json")); err == nil && !*smoke {
		feat, lab := filepath.Join(dir, "demo.npy"), filepath.Join(dir, "demo.txt")
		log.Printf("extracting the demo set's features (go run ./cmd/finetune extract)")
		cmd := exec.Command("go", "run", "./cmd/finetune", "extract", "-backbone", "centernet", "-o", feat, "-labels", lab, "public/demo")
		cmd.Dir = root
		if b, err := cmd.CombinedOutput(); err != nil {
			return nil, fmt.Errorf("extracting the demo set: %v\n%s", err, b)
		}
		set, err := writeTTQ(dir, "demo", feat, lab, "the app's demo set (public/demo: %d Tux Paint photos, %d classes) through centernet (480-d), extracted by the CLI")
		if err != nil {
			return nil, err
		}
		sets = append(sets, set)
	}
	set, err := writeTTQ(dir, "tux", filepath.Join(root, "head", "testdata", "tux-centernet.npy"), filepath.Join(root, "head", "testdata", "tux-centernet.txt"),
		"head/testdata/tux-centernet.npy: %d real centernet (480-d) features of Tux Paint photos, %d classes")
	if err != nil {
		return nil, err
	}
	return append(sets, set), nil
}

// writeTTQ converts an .npy + labels pair into the page's raw float32 + JSON.
func writeTTQ(dir, name, feat, lab, source string) (TTQSet, error) {
	ds, err := featio.Load(feat, lab)
	if err != nil {
		return TTQSet{}, err
	}
	buf := make([]byte, 4*len(ds.X))
	for i, v := range ds.X {
		putF32(buf[4*i:], v)
	}
	set := TTQSet{Features: "data/" + name + ".f32", Meta: "data/" + name + ".json"}
	if err := os.WriteFile(filepath.Join(dir, name+".f32"), buf, 0o644); err != nil {
		return set, err
	}
	src := fmt.Sprintf(source, ds.N, len(ds.Labels))
	log.Printf("time-to-quality data: %s", src)
	meta, _ := json.Marshal(map[string]any{"n": ds.N, "d": ds.D, "labels": ds.Labels, "y": ds.Y, "source": src})
	return set, os.WriteFile(filepath.Join(dir, name+".json"), meta, 0o644)
}

func putF32(b []byte, v float32) {
	u := math.Float32bits(v)
	b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
}

func modelIDs(root string) ([]string, error) {
	b, err := os.ReadFile(filepath.Join(root, "public", "models", "manifest.json"))
	if err != nil {
		return nil, fmt.Errorf("%v (run ./build.sh models first)", err)
	}
	var m struct {
		Backbones []struct {
			ID string `json:"id"`
		} `json:"backbones"`
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("public/models/manifest.json: %v", err)
	}
	var ids []string
	for _, b := range m.Backbones {
		ids = append(ids, b.ID)
	}
	if len(ids) == 0 {
		return nil, errors.New("public/models/manifest.json lists no backbones")
	}
	return ids, nil
}

// firstPhoto picks a fixed real photo for the backbone check, if Tux Paint's stamps are there.
func firstPhoto() string {
	m, _ := filepath.Glob("/usr/share/tuxpaint/stamps/animals/birds/*.png")
	sort.Strings(m)
	if len(m) > 0 {
		return m[0]
	}
	return ""
}

func copyFile(dst, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	o, err := os.Create(dst)
	if err != nil {
		return err
	}
	if _, err := io.Copy(o, in); err != nil {
		o.Close()
		return err
	}
	return o.Close()
}

// ---- serving and the browser --------------------------------------------------------------------

// serveBench serves the staged site, with /models/ from public/models, on a loopback port. Every
// request is recorded; a 404 is an error of the harness.
type benchServer struct {
	URL     string
	mu      sync.Mutex
	missing []string
	paths   map[string]int // every path asked for, with its count
	srv     *http.Server
}

func serveBench(root, site, profile string) (*benchServer, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &benchServer{URL: "http://" + ln.Addr().String() + "/", paths: map[string]int{}}
	mux := http.NewServeMux()
	mux.Handle("/models/", http.StripPrefix("/models/", http.FileServer(http.Dir(filepath.Join(root, "public", "models")))))
	mux.Handle("/__cpu", cpuHandler(profile))
	mux.Handle("/app/", http.StripPrefix("/app/", http.FileServer(http.Dir(filepath.Join(root, "public", "build")))))
	mux.Handle("/", http.FileServer(http.Dir(site)))
	s.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.mu.Lock()
		s.paths[r.URL.Path]++
		s.mu.Unlock()
		if strings.HasSuffix(r.URL.Path, ".wasm") {
			w.Header().Set("Content-Type", "application/wasm")
		}
		w.Header().Set("Cache-Control", "no-store")
		rec := &statusRecorder{ResponseWriter: w}
		mux.ServeHTTP(rec, r)
		if rec.status == http.StatusNotFound {
			s.mu.Lock()
			s.missing = append(s.missing, r.URL.Path)
			s.mu.Unlock()
		}
	}), ReadHeaderTimeout: 10 * time.Second}
	go s.srv.Serve(ln)
	return s, nil
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) { r.status = code; r.ResponseWriter.WriteHeader(code) }

// newBrowser starts headless Chromium with the project's flags (internal/headless, which leave
// --disable-gpu out: it makes timings worse) and a fresh profile: a cold cache every time.
func newBrowser(ctx context.Context, exe, profile string) (context.Context, context.CancelFunc) {
	opts := headless.Options(exe, profile, 1280, 900)
	actx, cancelA := chromedp.NewExecAllocator(ctx, opts...)
	bctx, cancelB := chromedp.NewContext(actx)
	return bctx, func() { cancelB(); cancelA() }
}

// offLoopback records any request that is not to 127.0.0.1: the pages must not touch the network.
type offLoopback struct {
	mu   sync.Mutex
	urls []string
}

func (o *offLoopback) see(url string) {
	if strings.HasPrefix(url, "http://127.0.0.1:") || strings.HasPrefix(url, "data:") || strings.HasPrefix(url, "blob:") {
		return
	}
	o.mu.Lock()
	o.urls = append(o.urls, url)
	o.mu.Unlock()
}

func (o *offLoopback) err() error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if len(o.urls) > 0 {
		return fmt.Errorf("the page requested %d URL(s) off this machine, e.g. %s", len(o.urls), o.urls[0])
	}
	return nil
}

// runPage runs the bench page with plan and returns the JSON it resolves to and the tfjs wasm
// binary the page fetched (which says whether tfjs ran its SIMD build).
func runPage(ctx context.Context, exe, root, site string, plan *Plan) (json.RawMessage, string, error) {
	profile, err := os.MkdirTemp("", "bench-chromium-")
	if err != nil {
		return nil, "", err
	}
	defer os.RemoveAll(profile)
	srv, err := serveBench(root, site, profile)
	if err != nil {
		return nil, "", err
	}
	defer srv.srv.Close()
	bctx, cancel := newBrowser(ctx, exe, profile)
	defer cancel()

	var off offLoopback
	var exMu sync.Mutex
	var exceptions []string
	if err := chromedp.Listen(bctx, func(ev any) {
		switch e := ev.(type) {
		case *cdpruntime.EventConsoleAPICalled:
			var parts []string
			for _, a := range e.Args {
				var s string
				if json.Unmarshal(a.Value, &s) == nil {
					parts = append(parts, s)
				} else if len(a.Value) > 0 {
					parts = append(parts, string(a.Value))
				} else {
					parts = append(parts, a.Description)
				}
			}
			fmt.Fprintf(os.Stderr, "  page %s: %s\n", e.Type, strings.Join(parts, " "))
		case *cdpruntime.EventExceptionThrown:
			msg := e.ExceptionDetails.Text
			if e.ExceptionDetails.Exception != nil {
				msg += " " + e.ExceptionDetails.Exception.Description
			}
			exMu.Lock()
			exceptions = append(exceptions, msg)
			exMu.Unlock()
			fmt.Fprintf(os.Stderr, "  page exception: %s\n", msg)
		case *network.EventRequestWillBeSent:
			off.see(e.Request.URL)
		}
	}); err != nil {
		return nil, "", fmt.Errorf("starting chromium: %v", err)
	}
	if _, err := chromedp.Call(bctx, network.Enable, network.EnableParams{}); err != nil {
		return nil, "", err
	}
	if err := chromedp.Do(bctx, chromedp.Navigate(srv.URL+"index.html")); err != nil {
		return nil, "", fmt.Errorf("opening the bench page: %v", err)
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](`typeof window.runBench === 'function'`, chromedp.WithPollingTimeout(60*time.Second))); err != nil {
		return nil, "", fmt.Errorf("the bench page did not start: %v", err)
	}
	planJSON, err := json.Marshal(plan)
	if err != nil {
		return nil, "", err
	}
	log.Printf("running the page at %s", srv.URL)
	raw, err := chromedp.Run(bctx, chromedp.Evaluate[string](fmt.Sprintf("runBench(%q)", planJSON), chromedp.EvalAwaitPromise))
	if err != nil {
		return nil, "", fmt.Errorf("the bench page failed: %v", err)
	}
	if err := off.err(); err != nil {
		return nil, "", err
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	if len(srv.missing) > 0 {
		return nil, "", fmt.Errorf("the bench page asked for missing files: %s", strings.Join(srv.missing, ", "))
	}
	exMu.Lock()
	defer exMu.Unlock()
	if len(exceptions) > 0 {
		return nil, "", fmt.Errorf("uncaught exceptions in the page: %s", strings.Join(exceptions, "; "))
	}
	var tfwasm []string
	for p := range srv.paths {
		if strings.HasPrefix(p, "/vendor/") && strings.HasSuffix(p, ".wasm") {
			tfwasm = append(tfwasm, strings.TrimPrefix(p, "/vendor/"))
		}
	}
	sort.Strings(tfwasm)
	return json.RawMessage(raw), strings.Join(tfwasm, ", "), nil
}

// ---- machine --------------------------------------------------------------------------------------

// Machine describes where the numbers were taken.
type Machine struct {
	CPU       string `json:"cpu"`
	Cores     int    `json:"cores"`
	MemTotal  string `json:"memTotal"`
	Kernel    string `json:"kernel"`
	OS        string `json:"os"`
	Chromium  string `json:"chromium"`
	Go        string `json:"go"`
	Date      string `json:"date"`
	LoadStart string `json:"loadStart"` // /proc/loadavg before and after: a busy machine shows here
	LoadEnd   string `json:"loadEnd"`
	Duration  string `json:"duration"`
}

func machine(exe string) Machine {
	m := Machine{Cores: runtime.NumCPU(), Go: runtime.Version(), Date: time.Now().UTC().Format("2006-01-02 15:04 MST")}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				m.CPU = strings.TrimSpace(l[strings.Index(l, ":")+1:])
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		m.MemTotal = strings.Join(strings.Fields(strings.SplitN(string(b), "\n", 2)[0])[1:], " ")
	}
	if b, err := exec.Command("uname", "-srm").Output(); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/etc/os-release"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "PRETTY_NAME=") {
				m.OS = strings.Trim(l[len("PRETTY_NAME="):], `"`)
			}
		}
	}
	// Debian's /usr/bin/chromium is a wrapper script; its --version line is the browser's.
	if b, err := exec.Command(exe, "--version").Output(); err == nil {
		m.Chromium = strings.TrimSpace(strings.SplitN(string(b), "\n", 2)[0])
	}
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// GemmPlan is the gemm part: our gemm (kernels.ConvGemm without bias or activation) at each
// (M, K, N), timed for at least MinMs.
type GemmPlan struct {
	Shapes [][3]int `json:"shapes"`
	MinMs  int      `json:"minMs"`
}

// gemmShapes are centernet's heaviest 1×1 convolutions (M = pixels, K = input channels, N = output
// channels) and W1's dense layer, for a batch of 32 and for all N=1000 rows at once (the shapes of
// kernels.BenchmarkGemm).
var gemmShapes = [][3]int{
	{12544, 16, 64}, {3136, 24, 72}, {3136, 72, 24}, {784, 32, 96}, {196, 88, 528}, {196, 528, 88},
	{49, 120, 720}, {32, 1280, 10}, {1000, 1280, 10},
}

// simdEnv is the environment that builds the SIMD128 kernels: Go 1.27's toolchain (fetched once
// by the go command from the module proxy) with GOEXPERIMENT=simd, as scripts/lib-simd.sh sets it.
func simdEnv() []string {
	tc := os.Getenv("SIMD_GOTOOLCHAIN")
	if tc == "" {
		tc = "go1.27.3"
	}
	return []string{"GOTOOLCHAIN=" + tc, "GOEXPERIMENT=simd"}
}
