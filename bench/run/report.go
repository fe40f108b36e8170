//go:build !js

package main

import (
	"fmt"
	"sort"
	"strings"
)

// report renders the results as Markdown: the tables with ratios first, then the raw numbers.
func report(r *Results) string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	m := r.Machine
	p("# Benchmark: finetuner (Go → WebAssembly) vs TensorFlow.js %s\n\n", r.Env.TFJS)
	if r.Smoke {
		p("**Smoke run** (tiny sizes, one repetition): checks the harness, the numbers mean nothing.\n\n")
	}
	p("- Date: %s; the run took %s\n", m.Date, m.Duration)
	p("- Machine: %s, %d cores, %s RAM, %s, %s\n", m.CPU, m.Cores, m.MemTotal, m.Kernel, m.OS)
	p("- Load average (1, 5, 15 min) at start: %s, at end: %s — a load near or above the core count means the machine was busy and the timings are noisy\n", m.LoadStart, m.LoadEnd)
	p("- Browser: %s, headless (the flags of internal/headless, no --disable-gpu); user agent `%s`\n", m.Chromium, r.Env.UserAgent)
	if r.Env.GoVersion != "" {
		p("- TensorFlow.js %s, wasm backend %s: SIMD %v, threads %v (cross-origin isolated: %v), binary fetched: `%s`; every file served from 127.0.0.1, no CDN\n",
			r.Env.TFJS, r.Env.TFJSWasm, r.Env.WasmSIMD, r.Env.WasmThreads, r.Env.CrossOriginIsolated, r.TFJSWasmBinary)
		p("- Ours: %s, GOOS=js GOARCH=wasm, one thread, **%s kernels**, packages head/kernels/backbone through bench/wasm\n\n", r.Env.GoVersion, kernelsName(r.Env.GoKernels))
	} else {
		p("- Only the parts that load the app itself ran (its kernels are named where they ran); the bench page with TensorFlow.js did not\n\n")
	}

	if len(r.Heads) > 0 {
		headsSection(p, r.Heads)
	}
	if len(r.TTQ) > 0 {
		p("## 2. Time to quality\n\n")
		for i := range r.TTQ {
			ttqSection(p, &r.TTQ[i])
		}
	}
	if len(r.Gemm) > 0 {
		gemmSection(p, r.Gemm)
	}
	if len(r.Backbones) > 0 {
		backboneSection(p, r.Backbones)
	}
	if r.Weight != nil {
		weightSection(p, r.Weight)
	}
	if r.Scale != nil {
		scaleSection(p, r.Scale)
	}
	if len(r.Extract) > 0 {
		extractSection(p, r.Extract)
	}
	rawSection(p, r)
	p("\nReproduce: `./build.sh bench` (writes bench/out/report.md, results.json, ms-per-epoch.png).\n")
	return b.String()
}

type printf func(format string, a ...any)

func cell(s Stat) string { return fmt.Sprintf("%s (%s)", ms(s.Median), ms(s.Min)) }

func ms(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.0f", v)
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// goal says whether a ratio reaches its goal, and if not by how much it falls short.
func goal(ratio, want float64, higherBetter bool) string {
	if want == 0 {
		return "—"
	}
	if higherBetter {
		if ratio >= want {
			return fmt.Sprintf("≥%.1f×: **met**", want)
		}
		return fmt.Sprintf("≥%.1f×: **missed** (ours needs %.0f%% less time)", want, 100*(1-ratio/want))
	}
	if ratio <= want {
		return fmt.Sprintf("≤%.1f×: **met**", want)
	}
	return fmt.Sprintf("≤%.1f×: **missed** (ours needs %.0f%% less time)", want, 100*(1-want/ratio))
}

func headsSection(p printf, heads []HeadResult) {
	p("## 1. Head training: ms per epoch, median (min) of the runs\n\n")
	p("Same data (seeded Gaussian classes, generated once per workload in the worker), same model, Glorot-uniform weights and zero biases, Adam (β 0.9/0.999, ε 1e-7) at a constant 1e-3, same batch size and epochs, shuffled every epoch, no feature standardisation. Engines run in turn (ours, tfjs-wasm, tfjs-cpu, ours, ...) after a warm-up epoch each (on at most 2000 rows). Time runs from handing over the Float32Array (ours copies it into Go; tfjs makes its tensors) to the end of the last epoch; tfjs runs `model.fit` with `yieldEvery: 'never'`.\n\n")
	p("| workload | epochs | ours | tfjs-wasm | tfjs-cpu | tfjs-wasm ÷ ours | tfjs-cpu ÷ ours | goal (tfjs-wasm ÷ ours) |\n|---|---|---|---|---|---|---|---|\n")
	for _, h := range heads {
		o, w, c := h.Summary["ours"], h.Summary["tfjs-wasm"], h.Summary["tfjs-cpu"]
		rw, rc := w.Median/o.Median, c.Median/o.Median
		p("| %s | %d | %s | %s | %s | **%.2f×** | %.2f× | %s |\n", h.Workload.Name, h.Workload.Epochs, cell(o), cell(w), cell(c), rw, rc, goal(rw, h.Workload.Goal, true))
	}
	p("\nCPU time per epoch: the renderer process's CPU time (user + system, from /proc) over each whole call, final evaluation included (ours evaluates the training set twice after training, tfjs once), ÷ epochs; medians. Less sensitive than wall time to other load on the machine.\n\n")
	p("| workload | ours | tfjs-wasm | tfjs-cpu | tfjs-wasm ÷ ours | tfjs-cpu ÷ ours |\n|---|---|---|---|---|---|\n")
	for _, h := range heads {
		o, w, c := h.Summary["ours"].CPUMedian, h.Summary["tfjs-wasm"].CPUMedian, h.Summary["tfjs-cpu"].CPUMedian
		if !(o > 0) {
			p("| %s | (no CPU reading) | | | | |\n", h.Workload.Name)
			continue
		}
		p("| %s | %s | %s | %s | **%.2f×** | %.2f× |\n", h.Workload.Name, ms(o), ms(w), ms(c), w/o, c/o)
	}
	p("\n")
	for _, h := range heads {
		p("- %s: %s\n", h.Workload.Name, h.Workload.Desc)
	}
	p("\n![ms per epoch by workload](ms-per-epoch.png)\n\n")
	p("Equivalent work: the training loss and accuracy each engine reached (medians over runs): the mean over the last epoch as the optimiser saw it, and over the whole training set after training.\n\n")
	p("| workload | engine | loss, last epoch | accuracy, last epoch | loss after | accuracy after | steady epoch (ms, epochs 2..) |\n|---|---|---|---|---|---|---|\n")
	for _, h := range heads {
		for _, e := range []string{"ours", "tfjs-wasm", "tfjs-cpu"} {
			runs := h.Runs[e]
			var l, a, el, ea []float64
			for _, r := range runs {
				l, a, el, ea = append(l, r.LastEpochLoss), append(a, r.LastEpochAcc), append(el, r.EvalLoss), append(ea, r.EvalAcc)
			}
			steady := "—"
			if h.Summary[e].SteadyEpochMs > 0 {
				steady = ms(h.Summary[e].SteadyEpochMs)
			}
			p("| %s | %s | %.4f | %.1f%% | %.4f | %.1f%% | %s |\n", h.Workload.Name, e, median(l), 100*median(a), median(el), 100*median(ea), steady)
		}
	}
	p("\n")
}

func ttqSection(p printf, t *TTQResult) {
	p("### %s\n\n", t.Source)
	p("Data: %s; one stratified split (head.Split, 20%% validation: %d train, %d validation rows), the same rows for every method. Time to quality: wall time from the call until validation accuracy is within 0.5 points of the run's final value. The automatic probe hands over a closed-form head first (ridge regression of the one-hot labels in the rows' span, strength chosen on the validation split, one fitted temperature), then runs L-BFGS over an L2 path (in the rows' span when there are at most half as many rows as features) and hands over the best head so far after each strength it tries (`head.Control.OnHead`), so its time is that of the first such head within 0.5 points of its final accuracy. Teachable Machine's recipe: Dense(100, relu) → Dense(%d, no bias), Adam 1e-3, batch %d, %d epochs, features as they are; in tfjs-wasm with TM's variance-scaling initialiser, and with our trainer (Glorot) for reference.\n\n", t.Source, t.NTrain, t.NVal, t.Classes, t.Batch, t.Epochs)
	p("| method | time to quality, ms: median (min) | final validation accuracy | whole run, ms | whole run, CPU ms |\n|---|---|---|---|---|\n")
	names := map[string]string{"probe": "ours: automatic linear probe", "ours-tm": "ours: TM recipe", "tfjs-wasm-tm": "tfjs-wasm: TM recipe"}
	for _, k := range []string{"probe", "ours-tm", "tfjs-wasm-tm"} {
		s := t.Summary[k]
		var total []float64
		for _, r := range t.Runs[k] {
			if r.TotalMs > 0 {
				total = append(total, r.TotalMs)
			} else {
				total = append(total, r.Ms)
			}
		}
		p("| %s | %s | %.1f%% | %s | %s |\n", names[k], cell(s), 100*s.FinalAcc, ms(median(total)), ms(s.CPUMedian))
	}
	pr, tm := t.Summary["probe"], t.Summary["tfjs-wasm-tm"]
	// The goal: the probe's heads reach the TM recipe's final accuracy ≥10× sooner than the TM
	// recipe reaches it (its time to quality), with the probe's own final accuracy kept.
	var probeReach []float64
	probeNever := 0
	for _, r := range t.Runs["probe"] {
		if ms, ok := firstReach(r, tm.FinalAcc-0.005); ok {
			probeReach = append(probeReach, ms)
		} else {
			probeNever++
		}
	}
	// Two more readings of "faster to the same accuracy": when the TM recipe first reaches the
	// probe's accuracy (if ever), and whole run against whole run (TM always runs all its epochs).
	var reach, whole []float64
	never := 0
	for _, r := range t.Runs["tfjs-wasm-tm"] {
		whole = append(whole, r.TotalMs)
		if ms, ok := firstReach(r, pr.FinalAcc-0.005); ok {
			reach = append(reach, ms)
		} else {
			never++
		}
	}
	if len(probeReach) == 0 {
		p("\nThe probe's heads never reached the TM recipe's final %.1f%%: goal ≥10× **missed**.\n\n", 100*tm.FinalAcc)
	} else {
		ratio := tm.Median / median(probeReach)
		p("\nTime to the TM recipe's final accuracy (%.1f%%), tfjs-wasm TM recipe (%s ms) ÷ the probe's first head that reaches it (%s ms, median; %d of %d runs never did): **%.1f×**; final accuracy %.1f%% probe, %.1f%% TM; goal ≥10×: ",
			100*tm.FinalAcc, ms(tm.Median), ms(median(probeReach)), probeNever, len(t.Runs["probe"]), ratio, 100*pr.FinalAcc, 100*tm.FinalAcc)
		switch {
		case ratio >= 10 && probeNever == 0 && pr.FinalAcc >= tm.FinalAcc-0.005:
			p("**met**, at the same or better accuracy.\n\n")
		case ratio >= 10:
			p("faster, but not in every run or not at the same final accuracy: **not met**.\n\n")
		default:
			p("**missed** (needs %.0f%% less time).\n\n", 100*(1-ratio/10))
		}
	}
	if len(reach) > 0 {
		p("tfjs-wasm's TM recipe first reached the probe's %.1f%% at %s ms (median of %d runs; %d never did): %.1f× the probe's time. ", 100*pr.FinalAcc, ms(median(reach)), len(reach), never, median(reach)/pr.Median)
	} else {
		p("tfjs-wasm's TM recipe never reached the probe's %.1f%% in %d epochs. ", 100*pr.FinalAcc, t.Epochs)
	}
	p("Whole run against whole run (TM trains all %d epochs): %.1f×.\n\n", t.Epochs, median(whole)/pr.Median)
	if len(t.Runs["probe"]) > 0 {
		r := t.Runs["probe"][0]
		var first []float64
		for _, q := range t.Runs["probe"] {
			first = append(first, q.FirstMs)
		}
		p("The probe chose λ = %g after %d L-BFGS iterations in all; its first head came %s ms after the call (median), the last at the end of the run.\n\n", r.Lambda, r.Iters, ms(median(first)))
	}
}

// firstReach is the time of the first point of a run's curve at or above acc.
func firstReach(r TTQRun, acc float64) (float64, bool) {
	for _, c := range r.Curve {
		if c.ValAcc >= acc {
			return c.Ms, true
		}
	}
	return 0, false
}

// kernelsName says which of our kernel paths ran; results from before the SIMD128 build have none.
func kernelsName(k string) string {
	switch k {
	case "simd128":
		return "SIMD128"
	case "":
		return "scalar (no SIMD)"
	}
	return k
}

func gemmSection(p printf, gs []GemmResult) {
	p("## Our gemm in Chromium: GFLOP/s\n\n")
	p("kernels.ConvGemm without bias or activation: the product the 1×1 convolutions and the dense layers run on, at centernet's heaviest 1×1 convolutions (M pixels, K input and N output channels) and W1's dense layer; each checked against the float64 product first (worst error as a fraction of the float32 bound K·2⁻²⁴·Σ|a·w|).\n\n")
	p("| M | K | N | kernels | GFLOP/s (wall) | GFLOP/s (CPU time) | ms per call | goal | error / bound |\n|---|---|---|---|---|---|---|---|---|\n")
	for _, g := range gs {
		// The renderer's CPU time counts its other threads too (and /proc ticks are 10 ms), so
		// it can exceed the wall time of a short call: the better of the two is the kernel's.
		met := "≥8: **met**"
		if max(g.CPU, g.GFLOPs) < 8 {
			met = "≥8: **missed**"
		}
		cpu := "—"
		if g.CPU > 0 {
			cpu = fmt.Sprintf("%.2f", g.CPU)
		}
		p("| %d | %d | %d | %s | %.2f | %s | %.3f | %s | %.3f |\n", g.M, g.K, g.N, kernelsName(g.Kernels), g.GFLOPs, cpu, g.Ms, met, g.MaxError)
	}
	p("\n")
}

func backboneSection(p printf, bs []BackboneResult) {
	p("## 3. Backbone: ms per image at 224×224, median (min)\n\n")
	p("The same converted graph model (public/models/<id>: model.json + weights.bin as shipped) in both runtimes, the same preprocessed input (a real photo, our preprocessing), features checked equal before timing. tfjs: `execute` to the tap (+ spatial mean) and `dataSync`, batch as one tensor; ours: backbone.Forward image after image.\n\n")
	p("| backbone | batch | ours | tfjs-wasm | ours ÷ tfjs-wasm | goal | CPU ms/image ours, tfjs-wasm (ratio) | max rel. difference |\n|---|---|---|---|---|---|---|---|\n")
	for _, b := range bs {
		keys := make([]string, 0, len(b.Batches))
		for k := range b.Batches {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool {
			return len(keys[i]) < len(keys[j]) || len(keys[i]) == len(keys[j]) && keys[i] < keys[j]
		})
		for _, k := range keys {
			o, t := b.Batches[k]["ours"], b.Batches[k]["tfjs-wasm"]
			ratio := o.Median / t.Median
			cpu := "—"
			if o.CPUPerImage > 0 && t.CPUPerImage > 0 {
				cpu = fmt.Sprintf("%s, %s (%.2f×)", ms(o.CPUPerImage), ms(t.CPUPerImage), o.CPUPerImage/t.CPUPerImage)
			}
			p("| %s (%d-d) | %s | %s (%s) | %s (%s) | %.2f× | %s | %s | %.1e |\n", b.ID, b.Dim, k, ms(o.Median), ms(o.Min), ms(t.Median), ms(t.Min), ratio, goal(ratio, 1.5, false), cpu, b.MaxRelDiff)
		}
	}
	p("\n")
}

func mb(v float64) string { return fmt.Sprintf("%.2f MB", v/1e6) }

func extractSection(p printf, runs []ExtractRun) {
	p("## 6. Extraction in the app: images/s with the trainer alone and with its helpers\n\n")
	p("The app served by cmd/serve in a fresh profile, augmentation set to mirror + crops (7 views a photo), then **Load demo set**: every photo's seven views queue for the backbone (the default, centernet) as soon as it is decoded. Timed by the page's clock from the click to the last photo done, decoding included; a photo counts once, with its seven backbone passes. `?helpers=0` keeps the trainer worker alone, the default adds one helper worker fewer than the cores (up to three), each with its own copy of the backbone.\n\n")
	p("| helpers | cores | kernels | photos | photos/s | backbone passes/s | seconds | photos per worker |\n|---|---|---|---|---|---|---|---|\n")
	for _, r := range runs {
		h := r.Helpers
		if h == "" {
			h = "default"
		}
		p("| %s | %d | %s | %d | **%.1f** | %.0f | %.1f | %v |\n", h, r.Cores, r.Kernels, r.Images, r.PerSecond, float64(r.Views)*r.PerSecond, r.Seconds, r.WorkerDone)
	}
	if len(runs) == 2 && runs[0].PerSecond > 0 {
		p("\nWith the helpers: %.2f× the trainer alone.\n", runs[1].PerSecond/runs[0].PerSecond)
	}
	p("\n")
}

func weightSection(p printf, w *Weight) {
	p("## 4. Page weight: cold load of the app (cmd/serve, fresh profile)\n\n")
	// cats[k] = {app alone until ready, app alone in all, full cold load in all}
	cats := map[string][3]float64{}
	var tot, totNoW [3]float64
	encs := map[string]bool{}
	add := func(i int, a Asset) {
		c := cats[a.Category]
		c[i] += a.Transferred
		cats[a.Category] = c
		tot[i] += a.Transferred
		if a.Category != "weights" {
			totNoW[i] += a.Transferred
		}
		if a.Encoding != "" {
			encs[a.Encoding] = true
		}
	}
	for _, a := range w.PageAssets {
		add(1, a)
		if a.BeforeReady {
			add(0, a)
		}
	}
	for _, a := range w.Assets {
		add(2, a)
	}
	var encList []string
	for e := range encs {
		encList = append(encList, e)
	}
	sort.Strings(encList)
	p("Navigation → ready (`body[data-ready]`: page up, trainer worker running, default backbone loaded): **%.0f ms** (%.0f ms with the service worker refused); load event at %.0f ms. The browser sent `Accept-Encoding: %s`; compressed responses came as %s. %s\n\n",
		w.ReadyMs, w.PageReadyMs, w.LoadMs, w.AcceptEncoding, strings.Join(encList, ", "), w.Note)
	p("Two cold loads: the app alone (its service worker's script refused, so the offline precache does not run) and the real first visit, where the service worker also copies every offline file (both backbones, the demo set) into Cache Storage.\n\n")
	p("| category | app alone, until ready | app alone, in all | first visit with the offline precache |\n|---|---|---|---|\n")
	var names []string
	for k := range cats {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p("| %s | %s | %s | %s |\n", k, mb(cats[k][0]), mb(cats[k][1]), mb(cats[k][2]))
	}
	p("| **total excluding weights** | **%s** | %s | %s |\n| total | %s | %s | %s |\n\n", mb(totNoW[0]), mb(totNoW[1]), mb(totNoW[2]), mb(tot[0]), mb(tot[1]), mb(tot[2]))
	p("Goal ≤3.0 MB excluding weights (app alone, until ready): %s. ", func() string {
		if totNoW[0] <= 3.0e6 {
			return "**met**"
		}
		return fmt.Sprintf("**missed** by %s", mb(totNoW[0]-3.0e6))
	}())
	p("Goal navigation → ready ≤2 s cold (the real first visit): %s.", func() string {
		if w.ReadyMs <= 2000 {
			return "**met**"
		}
		return fmt.Sprintf("**missed** (%.1f s)", w.ReadyMs/1000)
	}())
	for _, a := range w.PageAssets {
		if strings.HasSuffix(a.Path, "/plot.wasm") {
			p(" The plot (`%s`, %s) arrived %s ready.", a.Path, mb(a.Transferred), map[bool]string{true: "before", false: "after"}[a.BeforeReady])
		}
	}
	p("\n\n")
	if e := w.Embed; e != nil && len(e.ColdCurve) > 0 {
		goal := func(v, lim float64) string {
			if v <= lim {
				return "**met**"
			}
			return "**missed**"
		}
		p("Docs embed (`public/embed.html?preset=demo&autoplay=1`), ms from its navigation start, medians: first visit (fresh profile, %d runs) curve on screen %s ms (the fallback canvas until the plot is up), Ebiten plot drawn %s ms; goal curve ≤1 s: %s. ",
			len(e.ColdCurve), ms(median(e.ColdCurve)), ms(median(e.ColdPlot)), goal(median(e.ColdCurve), 1000))
		if len(e.ReturnCurve) > 0 {
			p("Return visit (files cached, %d runs): curve %s ms, plot %s ms; goal curve ≤0.6 s: %s.", len(e.ReturnCurve), ms(median(e.ReturnCurve)), ms(median(e.ReturnPlot)), goal(median(e.ReturnCurve), 600))
		}
		p("\n\n")
	}
	p("| asset (app alone) | encoding | transferred | before ready |\n|---|---|---|---|\n")
	for i, a := range w.PageAssets {
		if i == 25 {
			p("| … %d more | | | |\n", len(w.PageAssets)-25)
			break
		}
		p("| `%s` | %s | %s | %v |\n", a.Path, a.Encoding, mb(a.Transferred), a.BeforeReady)
	}
	dc := map[string][2]int64{}
	for _, d := range w.Disk {
		c := dc[d.Category]
		c[0] += d.Raw
		c[1] += d.Brotli
		dc[d.Category] = c
	}
	names = names[:0]
	for k := range dc {
		names = append(names, k)
	}
	sort.Strings(names)
	p("\nEvery file the app keeps offline (public/build/assets.json), brotli size of its .br twin (or raw where there is none):\n\n| category | raw | brotli |\n|---|---|---|\n")
	var raw, br, brNoW int64
	for _, k := range names {
		p("| %s | %s | %s |\n", k, mb(float64(dc[k][0])), mb(float64(dc[k][1])))
		raw += dc[k][0]
		br += dc[k][1]
		if k != "weights" {
			brNoW += dc[k][1]
		}
	}
	p("| total (excluding weights) | %s | %s (%s) |\n\n", mb(float64(raw)), mb(float64(br)), mb(float64(brNoW)))
}

func scaleSection(p printf, s *ScaleResult) {
	p("## 5. Scale: our trainer with N samples (D=%d, %d classes, linear head, %d epoch, 20%% validation)\n\n", s.D, s.Classes, s.Epochs)
	if s.Engine == "app" {
		p("Each size runs in a fresh worker holding the app's own trainer (public/build/trainer.wasm) and calls its `finetuner.train({x, y, n, d, labels}, request, onEvents)` as js/trainer-host.js does, with the page's settings (linear head, batch 32, Adam 1e-3, 20%% validation): features made in JS as a Float32Array (as the app holds them), copied into Go, standardised, trained, evaluated, the head file written. Memory: the Go instance's WebAssembly memory after the run, and the JS feature array.\n\n")
	} else {
		p("Each size runs in a fresh worker: features made in JS (a Float32Array as the app holds them), copied into Go, standardised, trained (head.Train through bench/wasm, the code the app's worker runs). Memory: the Go instance's WebAssembly memory after the run, and the JS feature array.\n\n")
	}
	p("| N | train + evaluate (s) | wasm memory | Go heap in use | JS features | validation accuracy |\n|---|---|---|---|---|---|\n")
	for _, r := range append(append([]ScaleRun(nil), s.Sizes...), s.Search...) {
		if !r.OK && r.Error != "" {
			p("| %d | failed: %s | | | | |\n", r.N, r.Error)
			continue
		}
		heap := "—"
		if r.GoHeap.HeapAlloc > 0 {
			heap = mb(r.GoHeap.HeapAlloc)
		}
		p("| %d | %.1f | %s | %s | %s | %.1f%% |\n", r.N, r.TrainMs/1000, mb(r.WasmBytes), heap, mb(r.JSBytes), 100*r.ValAcc)
	}
	switch {
	case s.FirstFailure > 0:
		p("\nLargest N trained: **%d**; %d failed (doubling search, so the limit lies between). WebAssembly memory is 32-bit (4 GB at most), and the Go side holds the features twice (the dataset as copied in, and the standardised training and validation rows), about 2 × 4 × D bytes per sample.\n\n", s.LargestOK, s.FirstFailure)
	case s.LargestOK > 0:
		p("\nLargest N trained: **%d**, the search's cap; no failure up to there.\n\n", s.LargestOK)
	}
}

func rawSection(p printf, r *Results) {
	p("## Raw numbers\n\n")
	for _, h := range r.Heads {
		for _, e := range []string{"ours", "tfjs-wasm", "tfjs-cpu"} {
			var v []string
			for _, run := range h.Runs[e] {
				v = append(v, ms(run.MsPerEpoch))
			}
			p("- %s %s ms/epoch: %s\n", h.Workload.Name, e, strings.Join(v, ", "))
		}
	}
	for _, t := range r.TTQ {
		for _, k := range []string{"probe", "ours-tm", "tfjs-wasm-tm"} {
			var v []string
			for _, run := range t.Runs[k] {
				v = append(v, fmt.Sprintf("%s ms → %.1f%%", ms(run.Ms), 100*run.FinalAcc))
			}
			p("- time to quality %s, %s: %s\n", k, strings.SplitN(t.Source, ":", 2)[0], strings.Join(v, "; "))
		}
	}
	for _, b := range r.Backbones {
		for k, byEngine := range b.Batches {
			for _, e := range []string{"ours", "tfjs-wasm"} {
				var v []string
				for _, x := range byEngine[e].Runs {
					v = append(v, ms(x))
				}
				p("- %s batch %s %s ms/image: %s\n", b.ID, k, e, strings.Join(v, ", "))
			}
		}
	}
	p("\nEverything, with per-epoch times and curves: results.json.\n")
}
