//go:build !js

// Command exportcheck checks the exported models against our own Go runtime in headless
// Chromium. For each backbone in -models it extracts the demo photos' features, trains a head
// on them (an MLP with GELU on the default backbone, a linear head on the others, both with
// standardisation), exports backbone + head with modelexport, and computes the probabilities of
// a few photos with our runtime (backbone.Preprocess, Forward, head.Predict); with
// -finetune-blocks it also fine-tunes the last blocks of each backbone with a linear head (tune)
// and exports that head, whose changed layers the export must carry. Then it serves the
// exports, those photos' network inputs and check.html on 127.0.0.1, and the page runs each
// export: the TF.js graph model with tf.loadGraphModel in TensorFlow.js 4.22 and the ONNX model
// in onnxruntime-web 1.30 (both on their wasm backends, files from node_modules). Any
// probability more than -tol away from ours fails.
//
//	go run ./tools/exportcheck -models public/models -demo public/demo -browser /usr/bin/chromium
package main

import (
	"context"
	"embed"
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"math"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/chromedp/chromedp"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/imagefile"
	"finetuner/internal/headless"
	"finetuner/kernels"
	"finetuner/modelexport"
	"finetuner/tune"
)

//go:embed check.html check.js
var page embed.FS

var (
	models  = flag.String("models", "public/models", "converted backbones (./build.sh models)")
	demo    = flag.String("demo", "public/demo", "demo photos, one folder per class")
	nodeMod = flag.String("node-modules", "node_modules", "npm packages (@tensorflow/tfjs 4.22)")
	chrome  = flag.String("browser", "/usr/bin/chromium", "chromium binary")
	out     = flag.String("o", "", "keep the exports and inputs here (default: a temporary folder)")
	perCls  = flag.Int("per-class", 2, "photos of each class to compare")
	trainN  = flag.Int("train-per-class", 12, "photos of each class to train the head on (CI time)")
	tol     = flag.Float64("tol", 1e-4, "largest allowed |Δp|")
	reuse   = flag.Bool("reuse", false, "with -o: keep the exports already there (for working on the page)")
	ftBlock = flag.Int("finetune-blocks", 1, "also export a head that fine-tuned this many last blocks of each backbone (0: none)")
)

func main() {
	flag.Parse()
	dir := *out
	if dir == "" {
		d, err := os.MkdirTemp("", "exportcheck")
		check(err)
		defer os.RemoveAll(d)
		dir = d
	}
	infos, err := backbone.ReadManifest(os.DirFS(*models))
	check(err)
	var ids []string
	for i, info := range infos {
		keys := []string{info.ID}
		if *ftBlock > 0 {
			keys = append(keys, fmt.Sprintf("%s-finetuned%d", info.ID, *ftBlock))
		}
		for k, key := range keys {
			if _, err := os.Stat(filepath.Join(dir, key, "expected.json")); err != nil || !*reuse {
				prepare(info, i == 0 && k == 0, k**ftBlock, key, dir)
			}
			ids = append(ids, key)
		}
	}
	results := runPage(dir, ids)
	if r, ok := results["page"]; ok {
		fail("the page failed: %s", r.Error)
	}
	worst := 0.0
	for _, id := range ids {
		r, ok := results[id]
		if !ok {
			fail("%s: the page gave no result", id)
		}
		if r.Error != "" {
			fail("%s: %s", id, r.Error)
		}
		for _, f := range []struct {
			name string
			d    *float64
		}{{"tfjs", r.TFJS}, {"onnx", r.ONNX}} {
			if f.d == nil {
				fail("%s %s: no comparison", id, f.name)
			}
			fmt.Printf("exportcheck: %-12s %s: %d photos, max |Δp| %.2g vs our Go runtime (tolerance %.0g)\n", id, f.name, r.N, *f.d, *tol)
			worst = max(worst, *f.d)
			if !(*f.d <= *tol) {
				fail("%s %s: max |Δp| %.3g above %.0g", id, f.name, *f.d, *tol)
			}
		}
	}
	fmt.Printf("exportcheck: all exports match (max |Δp| %.2g)\n", worst)
}

// expected is what the page compares with, per backbone.
type expected struct {
	ID     string    `json:"id"`
	N      int       `json:"n"`
	S      int       `json:"size"`
	C      int       `json:"classes"`
	Labels []string  `json:"labels"`
	Photos []string  `json:"photos"`
	Probs  []float32 `json:"probs"` // (N,C) from our runtime
}

// prepare trains a head on the demo set's features of one backbone, or with blocks > 0 fine-tunes
// the last blocks with a linear head (tune), exports it and writes the inputs and our
// probabilities for the page under dir/key.
func prepare(info backbone.Info, mlp bool, blocks int, key, dir string) {
	m, err := backbone.Load(os.DirFS(*models), info.ID)
	check(err)
	classes, err := os.ReadDir(*demo)
	check(err)
	ds := &head.Dataset{D: m.Dim()}
	var picked []string
	var pix [][]float32 // the network inputs, for fine-tuning
	for _, c := range classes {
		if !c.IsDir() {
			continue
		}
		photos, err := filepath.Glob(filepath.Join(*demo, c.Name(), "*.png"))
		check(err)
		slices.Sort(photos)
		if len(photos) == 0 {
			continue
		}
		y := int32(len(ds.Labels))
		ds.Labels = append(ds.Labels, c.Name())
		for i, p := range photos[:min(len(photos), max(*trainN, *perCls))] {
			rgba, w, h := decode(p)
			f := make([]float32, m.Dim())
			check(m.Features(f, rgba, w, h))
			ds.X = append(ds.X, f...)
			ds.Y = append(ds.Y, y)
			ds.N++
			if blocks > 0 {
				var x []float32
				check(m.Preprocess(&x, rgba, w, h, backbone.View{}))
				pix = append(pix, x)
			}
			if i < *perCls {
				picked = append(picked, p)
			}
		}
	}
	if len(ds.Labels) < 2 {
		fail("%s: fewer than two classes of photos (build the demo set: ./build.sh web)", *demo)
	}
	cfg := head.Config{Epochs: 40, Seed: 1, ValFraction: 0.2}
	if mlp {
		cfg.Arch = head.Arch{Hidden: []int{32}, Activation: "gelu"}
	}
	hm, _, err := head.Train(context.Background(), ds, cfg.Defaults(), nil, nil)
	check(err)
	hm.Meta.BackboneID, hm.Meta.Tap = info.ID, info.Tap
	frozen := m
	if blocks > 0 {
		hm, m = finetune(m, info, blocks, ds, pix)
	}

	files := map[string][]byte{}
	bdir := filepath.Join(*models, info.ID)
	ents, err := os.ReadDir(bdir)
	check(err)
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(bdir, e.Name()))
		check(err)
		files[e.Name()] = b
	}
	tfjs, err := modelexport.TFJS(files, hm)
	check(err)
	writeAll(filepath.Join(dir, key, "tfjs"), tfjs)
	onnx, err := modelexport.ONNX(files, hm)
	check(err)
	check(os.WriteFile(filepath.Join(dir, key, "model.onnx"), onnx, 0o644))

	// Our runtime on the picked photos; the page gets the same network input as 0..255 values.
	lo, hi := info.InputRange[0], info.InputRange[1]
	k := (hi - lo) / 255
	var x, in []float32
	feat := make([]float32, m.Dim())
	probs := make([]float32, len(picked)*hm.C)
	moved := 0.0
	for i, p := range picked {
		rgba, w, h := decode(p)
		check(m.Preprocess(&x, rgba, w, h, backbone.View{}))
		for _, v := range x {
			in = append(in, (v-lo)/k)
		}
		check(m.Forward(feat, x))
		check(hm.Predict(probs[i*hm.C:(i+1)*hm.C], feat, 1))
		if blocks > 0 {
			// The fine-tuned layers must matter, or an export that ignored them would pass.
			check(frozen.Forward(feat, x))
			p0 := make([]float32, hm.C)
			check(hm.Predict(p0, feat, 1))
			for c, v := range p0 {
				moved = max(moved, math.Abs(float64(v-probs[i*hm.C+c])))
			}
		}
	}
	if blocks > 0 && moved < 10**tol {
		fail("%s: the fine-tuned layers change the probabilities by only %.2g: the check could not tell them from the frozen backbone's", key, moved)
	}
	buf := make([]byte, 0, 4*len(in))
	for _, v := range in {
		buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
	}
	check(os.WriteFile(filepath.Join(dir, key, "inputs.f32"), buf, 0o644))
	e := expected{ID: key, N: len(picked), S: info.InputSize, C: hm.C, Labels: hm.Labels, Photos: picked, Probs: probs}
	b, err := json.Marshal(e)
	check(err)
	check(os.WriteFile(filepath.Join(dir, key, "expected.json"), b, 0o644))
	fmt.Printf("exportcheck: %s: %s head on %d demo photos (%d classes), exported; %d photos to compare\n", key, hm.Arch.Kind(), ds.N, hm.C, len(picked))
	if blocks > 0 {
		fmt.Printf("exportcheck: %s: the fine-tuned layers move the probabilities by up to %.2g\n", key, moved)
	}
}

// finetune trains the last blocks of m with a linear head on the photos' network inputs pix
// (labels ds.Y) for a few epochs and returns the head (with its layers) and m with them applied.
func finetune(m *backbone.Model, info backbone.Info, blocks int, ds *head.Dataset, pix [][]float32) (*head.Model, *backbone.Model) {
	cut, names, err := m.FinetuneCut(blocks)
	check(err)
	below, err := m.Section("", cut, false)
	check(err)
	top, err := m.Section(cut, "", true)
	check(err)
	rows := make([][]float32, len(pix))
	for i, x := range pix {
		rows[i] = slices.Clone(below.Forward(x))
	}
	train, val := head.Split(ds.Y, len(ds.Labels), 0.2, 1)
	cfg := tune.DefaultConfig()
	cfg.Epochs = 4
	cfg.Progress = func(e int, l, a float64) {
		fmt.Printf("exportcheck: fine-tuning %v, epoch %d: val loss %.4f, val acc %.1f%%\n", names, e, l, 100*a)
	}
	st, _, err := tune.Train(context.Background(), top, info.Pool == "mean", rows, ds.Y, len(ds.Labels), train, val, nil, cfg)
	check(err)
	hm, err := st.HeadModel(info, ds.Labels, names, cut)
	check(err)
	// On a dozen photos per class the best validation loss is often the frozen probe's own, and
	// then the layers come back unchanged; the check needs layers that differ from the
	// backbone's, so each value moves by a fixed pseudo-random ±25% on top of the training (enough to move
	// the probabilities of a head this sure of itself).
	rng := kernels.NewRNG(3)
	for _, name := range hm.Backbone.Names {
		for i, v := range hm.Backbone.Tensors[name] {
			hm.Backbone.Tensors[name][i] = v * float32(1+0.5*(rng.Float64()-0.5))
		}
	}
	tuned, err := m.WithWeights(hm.Backbone.Tensors)
	check(err)
	return hm, tuned
}

func decode(path string) ([]byte, int, int) {
	b, err := os.ReadFile(path)
	check(err)
	rgba, w, h, err := imagefile.Decode(b)
	if err != nil {
		fail("%s: %v", path, err)
	}
	return rgba, w, h
}

func writeAll(dir string, files map[string][]byte) {
	check(os.MkdirAll(dir, 0o755))
	for name, b := range files {
		check(os.WriteFile(filepath.Join(dir, name), b, 0o644))
	}
}

// result is the page's verdict for one backbone: the largest |Δp| of each format.
type result struct {
	N     int      `json:"n"`
	TFJS  *float64 `json:"tfjs"`
	ONNX  *float64 `json:"onnx"`
	Error string   `json:"error"`
}

// runPage serves dir (the exports), the page and TensorFlow.js's files on 127.0.0.1 and runs
// the page in headless Chromium.
func runPage(dir string, ids []string) map[string]result {
	mux := http.NewServeMux()
	sub, _ := fs.Sub(page, ".")
	mux.Handle("/page/", http.StripPrefix("/page/", http.FileServerFS(sub)))
	mux.Handle("/data/", http.StripPrefix("/data/", http.FileServer(http.Dir(dir))))
	vendor := map[string]string{
		"tf.min.js":                   "@tensorflow/tfjs/dist/tf.min.js",
		"tf-backend-wasm.min.js":      "@tensorflow/tfjs-backend-wasm/dist/tf-backend-wasm.min.js",
		"tfjs-backend-wasm.wasm":      "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm",
		"tfjs-backend-wasm-simd.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm",
		// Named for setWasmPaths; without cross-origin isolation tfjs never loads it.
		"tfjs-backend-wasm-threaded-simd.wasm": "@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm",
	}
	for name, p := range vendor {
		path := filepath.Join(*nodeMod, p)
		if _, err := os.Stat(path); err != nil {
			fail("%v (run npm ci: package.json pins the packages the page loads)", err)
		}
		mux.HandleFunc("/vendor/"+name, func(w http.ResponseWriter, r *http.Request) {
			if strings.HasSuffix(name, ".wasm") {
				w.Header().Set("Content-Type", "application/wasm")
			}
			http.ServeFile(w, r, path)
		})
	}
	ortDir := filepath.Join(*nodeMod, "onnxruntime-web", "dist")
	if _, err := os.Stat(filepath.Join(ortDir, "ort.wasm.min.js")); err != nil {
		fail("%v (run npm ci: package.json pins onnxruntime-web)", err)
	}
	mux.Handle("/vendor/ort/", http.StripPrefix("/vendor/ort/", http.FileServer(http.Dir(ortDir))))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	check(err)
	srv := &http.Server{Handler: mux}
	go srv.Serve(ln)
	defer srv.Close()

	opts := headless.Options(*chrome, filepath.Join(dir, "chromium"), 1024, 768)
	actx, cancelA := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelA()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 5*time.Minute)
	defer cancelT()
	url := fmt.Sprintf("http://%s/page/check.html?ids=%s", ln.Addr(), strings.Join(ids, ","))
	check(chromedp.Do(ctx, chromedp.Navigate(url)))
	for {
		done, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("!!window.checkDone"))
		check(err)
		if done {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	raw, err := chromedp.Run(ctx, chromedp.Evaluate[string]("JSON.stringify(window.checkResults)"))
	check(err)
	logs, _ := chromedp.Run(ctx, chromedp.Evaluate[string]("(window.checkLog || []).join('\\n')"))
	if logs != "" {
		fmt.Println(logs)
	}
	res := map[string]result{}
	if err := json.Unmarshal([]byte(raw), &res); err != nil {
		fail("page results %q: %v", raw, err)
	}
	return res
}

func check(err error) {
	if err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "exportcheck: FAIL: "+format+"\n", args...)
	os.Exit(1)
}
