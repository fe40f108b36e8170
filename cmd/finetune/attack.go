package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/imagefile"
	"finetuner/kernels"
	"finetuner/tune"
)

func init() {
	register("attack", "fine-tune the last blocks, then run the mimicry attack on four students", runAttack)
}

// runAttack is the whole robustness experiment on a folder of photos (photos/<class>/<image>):
// it trains four students on one stratified split — the frozen deep-layer probe, a mid-layer
// probe, the last N blocks fine-tuned with the head, and the same with the neuron-distance
// defence — prints their validation accuracies, then crafts mimicry attacks for random
// (source, target) pairs of different classes (sources from the validation split) against the
// teacher and reports how often each student then predicts the target's class.
func runAttack(args []string) error {
	fs := flag.NewFlagSet("attack", flag.ContinueOnError)
	dir := fs.String("backbone", "public/models/centernet", "converted backbone folder (./build.sh models)")
	size := fs.Int("size", 0, "input size the network runs at (0: the model's own, 224); smaller is faster")
	mid := fs.String("mid", "", "mid-layer tap node (default: the input of the block below the fine-tuned ones)")
	blocks := fs.Int("finetune-blocks", 2, "last inverted-residual blocks to fine-tune (with the layers after them)")
	pairs := fs.Int("pairs", 50, "source/target pairs to attack (0: train and report accuracies only)")
	iters := fs.Int("iters", 100, "Adam iterations per attack")
	budget := fs.Float64("budget", 0.003, "perceptual budget P: DSSIM(adversarial, source) <= P")
	val := fs.Float64("val", 0.3, "validation fraction (stratified)")
	epochs := fs.Int("epochs", 15, "fine-tuning epochs (early stopping on validation loss)")
	defence := fs.Float64("defence", 1, "weight of the neuron-distance penalty of the defended student")
	defBlocks := fs.Int("defence-blocks", 0, "blocks the defended student retrains (0: as many as -finetune-blocks); the attack aims at the teacher's tap, above them")
	only := fs.String("students", "deep,mid,finetuned,defended", "students to attack (comma separated)")
	seed := fs.Uint64("seed", 1, "seed of the split, the pairs and the training order")
	if err := fs.Parse(args); err != nil {
		return err
	}
	items, classes, err := photoFolder(fs.Args())
	if err != nil {
		return err
	}
	deep, err := loadAt(*dir, *size, "")
	if err != nil {
		return err
	}
	cut, names, err := deep.FinetuneCut(*blocks)
	if err != nil {
		return err
	}
	if *mid == "" {
		bl := deep.Blocks()
		*mid = bl[len(bl)-*blocks-1].Cut
	}
	midM, err := loadAt(*dir, *size, *mid)
	if err != nil {
		return err
	}
	info := deep.Info()
	H, W, Cin := deep.InputShape()
	fmt.Printf("%d photos, %d classes; backbone %s at %d px; fine-tuned blocks %v on the cut %s\n",
		len(items), len(classes), info.ID, H, names, cut)

	pix, y, err := loadPhotos(deep, items, classes)
	if err != nil {
		return err
	}
	lo, span := info.InputRange[0], info.InputRange[1]-info.InputRange[0]
	train, valRows := head.Split(y, len(classes), *val, *seed)
	fmt.Printf("split: %d train, %d validation (seed %d)\n", len(train), len(valRows), *seed)

	z := make([]float32, H*W*Cin)
	toInput := func(p []float32) []float32 {
		for i, v := range p {
			z[i] = lo + span*v
		}
		return z
	}
	feats := func(m *backbone.Model) ([][]float32, error) {
		out := make([][]float32, len(pix))
		for i, p := range pix {
			out[i] = make([]float32, m.Dim())
			if err := m.Forward(out[i], toInput(p)); err != nil {
				return nil, err
			}
		}
		return out, nil
	}
	t0 := time.Now()
	deepF, err := feats(deep)
	if err != nil {
		return err
	}
	midF, err := feats(midM)
	if err != nil {
		return err
	}
	below, err := deep.Section("", cut, false)
	if err != nil {
		return err
	}
	acts := make([][]float32, len(pix))
	var actBytes int
	for i, p := range pix {
		acts[i] = append([]float32(nil), below.Forward(toInput(p))...)
		actBytes += 4 * len(acts[i])
	}
	fmt.Printf("features and cut activations cached in %.1fs (%s of activations)\n", time.Since(t0).Seconds(), humanBytes(int64(actBytes)))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	C := len(classes)
	cfg := tune.DefaultConfig()
	cfg.Seed, cfg.Epochs = *seed, *epochs
	pool := info.Pool == "mean"
	train4 := func(name string, top *backbone.Section, rows [][]float32, c tune.Config) (*tune.Student, error) {
		t := time.Now()
		s, res, err := tune.Train(ctx, top, pool, rows, y, C, train, valRows, deepF, c)
		if err != nil {
			return nil, err
		}
		if top == nil {
			fmt.Printf("%-22s val acc %5.1f%%  (%.1fs)\n", name, 100*res.ValAcc, time.Since(t).Seconds())
		} else {
			fmt.Printf("%-22s val acc %5.1f%%  (frozen probe on the same split %5.1f%%; %d epochs, %.1fs)\n",
				name, 100*res.ValAcc, 100*res.ProbeValAcc, res.Epochs, time.Since(t).Seconds())
		}
		return s, nil
	}
	deepS, err := train4("deep-layer probe", nil, deepF, cfg)
	if err != nil {
		return err
	}
	midS, err := train4("mid-layer probe", nil, midF, cfg)
	if err != nil {
		return err
	}
	topFT, err := deep.Section(cut, "", true)
	if err != nil {
		return err
	}
	ftS, err := train4(fmt.Sprintf("fine-tuned (%d blocks)", *blocks), topFT, acts, cfg)
	if err != nil {
		return err
	}
	if *defBlocks == 0 {
		*defBlocks = *blocks
	}
	defCut, defNames, err := deep.FinetuneCut(*defBlocks)
	if err != nil {
		return err
	}
	belowDef, defActs := below, acts
	if defCut != cut {
		if belowDef, err = deep.Section("", defCut, false); err != nil {
			return err
		}
		defActs = make([][]float32, len(pix))
		for i, p := range pix {
			defActs[i] = append([]float32(nil), belowDef.Forward(toInput(p))...)
		}
	}
	topDef, err := deep.Section(defCut, "", true)
	if err != nil {
		return err
	}
	dcfg := cfg
	dcfg.Defence = *defence
	defS, err := train4(fmt.Sprintf("defended (%d blocks)", len(defNames)), topDef, defActs, dcfg)
	if err != nil {
		return err
	}
	if *pairs == 0 || len(valRows) == 0 {
		return nil
	}

	// The attacks, crafted on the teacher alone: at its tap (pooled) for the deep-layer and the
	// defended students, at the mid tap for the mid-layer student, at the cut for the fine-tuned one.
	rTap, err := deep.Section("", "", false)
	if err != nil {
		return err
	}
	rMid, err := midM.Section("", "", false)
	if err != nil {
		return err
	}
	rCut, err := deep.Section("", cut, false)
	if err != nil {
		return err
	}
	atTap := tune.NewAttack(rTap, pool, info.InputRange, *iters)
	atMid := tune.NewAttack(rMid, pool, info.InputRange, *iters)
	atCut := tune.NewAttack(rCut, false, info.InputRange, *iters)
	for _, a := range []*tune.Attack{atTap, atMid, atCut} {
		a.Budget = *budget
	}
	rng := kernels.NewRNG(*seed + 100)
	type tally struct{ ok, n, clean int }
	var tDeep, tMid, tFT, tDef tally
	var maxD float64
	predDeep := func(x []float32) int {
		f := make([]float32, deep.Dim())
		deep.Forward(f, toInput(x))
		return deepS.Predict(f)
	}
	predMid := func(x []float32) int {
		f := make([]float32, midM.Dim())
		midM.Forward(f, toInput(x))
		return midS.Predict(f)
	}
	predTop := func(s *tune.Student, below *backbone.Section) func(x []float32) int {
		return func(x []float32) int {
			return s.Predict(append([]float32(nil), below.Forward(toInput(x))...))
		}
	}
	want := map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		want[strings.TrimSpace(s)] = true
	}
	t1 := time.Now()
	for k := 0; k < *pairs; k++ {
		if ctx.Err() != nil {
			fmt.Println("interrupted")
			break
		}
		si := valRows[rng.Intn(len(valRows))]
		ti := train[rng.Intn(len(train))]
		for y[ti] == y[si] {
			ti = train[rng.Intn(len(train))]
		}
		goal := int(y[ti])
		run := func(a *tune.Attack, pred func([]float32) int, ts ...*tally) []float32 {
			adv, d, _ := a.Run(pix[si], pix[ti])
			maxD = max(maxD, d)
			for _, t := range ts {
				t.n++
				if pred(pix[si]) == goal {
					t.clean++
				}
			}
			return adv
		}
		predDef, predFT := predTop(defS, belowDef), predTop(ftS, below)
		if want["deep"] || want["defended"] {
			var ts []*tally
			if want["deep"] {
				ts = append(ts, &tDeep)
			}
			if want["defended"] {
				ts = append(ts, &tDef)
			}
			adv := run(atTap, predDeep, ts...)
			if want["deep"] && predDeep(adv) == goal {
				tDeep.ok++
			}
			if want["defended"] {
				// run counted the deep student's clean predictions for both; the defended one's own:
				if predDeep(pix[si]) == goal {
					tDef.clean--
				}
				if predDef(pix[si]) == goal {
					tDef.clean++
				}
				if predDef(adv) == goal {
					tDef.ok++
				}
			}
		}
		if want["mid"] {
			if predMid(run(atMid, predMid, &tMid)) == goal {
				tMid.ok++
			}
		}
		if want["finetuned"] {
			if predFT(run(atCut, predFT, &tFT)) == goal {
				tFT.ok++
			}
		}
		fmt.Printf("\rpair %d/%d: successes deep %d, mid %d, fine-tuned %d, defended %d (%.1fs/pair)", k+1, *pairs,
			tDeep.ok, tMid.ok, tFT.ok, tDef.ok, time.Since(t1).Seconds()/float64(k+1))
	}
	fmt.Printf("\nattack success at DSSIM <= %g (%d Adam iterations; largest DSSIM %.4f):\n", *budget, *iters, maxD)
	for _, r := range []struct {
		name string
		t    tally
	}{{"deep-layer probe", tDeep}, {"mid-layer probe", tMid}, {fmt.Sprintf("fine-tuned (%d blocks)", *blocks), tFT}, {fmt.Sprintf("defended (%d blocks)", *defBlocks), tDef}} {
		if r.t.n > 0 {
			fmt.Printf("  %-22s %3d/%d = %5.1f%%  (target class before the attack: %d)\n", r.name, r.t.ok, r.t.n, 100*float64(r.t.ok)/float64(r.t.n), r.t.clean)
		}
	}
	return nil
}

// loadAt loads a converted backbone at another input size and/or with its tap moved to node tap
// (the graph runtime compiles the path from the input to any node).
func loadAt(dir string, size int, tap string) (*backbone.Model, error) {
	m, err := backbone.Load(os.DirFS(filepath.Dir(dir)), filepath.Base(dir))
	if err != nil {
		return nil, err
	}
	if size == 0 && tap == "" {
		return m, nil
	}
	info := m.Info()
	info.Dim = 0
	if size != 0 {
		info.InputSize = size
	}
	if tap != "" {
		info.Tap, info.Pool = tap, "mean"
	}
	mj, err := os.ReadFile(filepath.Join(dir, "model.json"))
	if err != nil {
		return nil, err
	}
	return backbone.LoadGraphModel(mj, func(p string) ([]byte, error) {
		if !filepath.IsLocal(p) {
			return nil, fmt.Errorf("weight path %q is not a plain relative path", p)
		}
		return os.ReadFile(filepath.Join(dir, p))
	}, &info)
}

// loadPhotos decodes and preprocesses every photo once for m's input, and returns the pixels in
// [0,1] ((H,W,C) each; the network's input is Range[0] + p·(Range[1]−Range[0])) with the labels.
// A file that does not decode is reported and skipped.
func loadPhotos(m *backbone.Model, items []imageItem, classes []string) ([][]float32, []int32, error) {
	classOf := map[string]int32{}
	for i, c := range classes {
		classOf[c] = int32(i)
	}
	r := m.Info().InputRange
	var pix [][]float32
	var y []int32
	var pre []float32
	for _, it := range items {
		data, err := os.ReadFile(it.path)
		if err != nil {
			return nil, nil, err
		}
		rgba, w, h, err := imagefile.Decode(data)
		if err != nil {
			fmt.Fprintf(os.Stderr, "skipping %s: %v\n", it.path, err)
			continue
		}
		if err := m.Preprocess(&pre, rgba, w, h, backbone.View{}); err != nil {
			return nil, nil, fmt.Errorf("%s: %v", it.path, err)
		}
		p := make([]float32, len(pre))
		for i, v := range pre {
			p[i] = (v - r[0]) / (r[1] - r[0])
		}
		pix = append(pix, p)
		y = append(y, classOf[it.class])
	}
	for c, name := range classes {
		if !slices.Contains(y, int32(c)) {
			return nil, nil, fmt.Errorf("class %q has no image that decodes", name)
		}
	}
	return pix, y, nil
}
