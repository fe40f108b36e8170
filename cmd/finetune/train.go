package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"time"

	"github.com/schollz/progressbar/v3"

	"finetuner/featio"
	"finetuner/head"
)

func init() {
	register("train", "features .npy + labels → head .safetensors, with progress and a metrics table", runTrain)
}

func runTrain(args []string) error {
	for _, a := range args {
		if name, _, _ := strings.Cut(strings.TrimLeft(a, "-"), "="); name == "finetune-blocks" && strings.HasPrefix(a, "-") {
			return runFinetuneTrain(args)
		}
	}
	fl := flag.NewFlagSet("train", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), `usage: finetune train -features F.npy -labels L.txt [flags]

Trains a classifier head on feature rows and writes it as a .safetensors head file.
-head auto runs the automatic linear probe (an L2 sweep chosen on the validation split).
With features from "finetune extract -augment", pass its -files list too: rows from one source
file are views of one image, so they stay on one side of the split, and validation scores each
held-out image once, by its plain view.`)
		fl.PrintDefaults()
	}
	feats := fl.String("features", "features.npy", "feature rows (.npy, float32 or float64, rows × dim)")
	labels := fl.String("labels", "labels.txt", "labels, one class name per line per row")
	out := fl.String("o", "head.safetensors", "output head file")
	kind := fl.String("head", "linear", "head: linear, mlp or auto")
	hidden := fl.String("hidden", "100", "mlp hidden widths, comma separated (1 or 2 layers)")
	act := fl.String("activation", "relu", "mlp activation: relu or gelu")
	dropout := fl.Float64("dropout", 0, "dropout after each hidden layer")
	epochs := fl.Int("epochs", 50, "epochs")
	batch := fl.Int("batch", 32, "batch size")
	lr := fl.Float64("lr", 1e-3, "learning rate")
	opt := fl.String("optimizer", "adam", "adam, adamw or sgd")
	momentum := fl.Float64("momentum", 0.9, "sgd momentum")
	nesterov := fl.Bool("nesterov", false, "sgd with Nesterov momentum")
	wd := fl.Float64("wd", 0, "weight decay (decoupled for adamw and sgd, L2 for adam)")
	l2 := fl.Float64("l2", 0, "L2 penalty added to the gradient")
	schedule := fl.String("schedule", "cosine", "learning-rate schedule: constant or cosine")
	warmup := fl.Float64("warmup", 0, "warm-up epochs")
	val := fl.Float64("val", 0.2, "validation fraction (stratified)")
	seed := fl.Uint64("seed", 1, "random seed")
	patience := fl.Int("patience", 10, "stop after this many epochs without a better validation loss (0: never)")
	balanced := fl.Bool("balanced", false, "weight classes by inverse frequency")
	smoothing := fl.Float64("smoothing", 0, "label smoothing")
	clip := fl.Float64("clip", 0, "clip the gradient norm (0: off)")
	noStd := fl.Bool("no-standardize", false, "use features as they are (no mean/std standardisation)")
	backboneID := fl.String("backbone", "", "backbone id recorded in the head file")
	tap := fl.String("tap", "", "backbone tap recorded in the head file")
	files := fl.String("files", "", "optional: the source file of each row (extract -files); rows of one file are one image in the split")
	quiet := fl.Bool("q", false, "no progress bar")
	if err := fl.Parse(args); err != nil {
		return err
	}
	ds, err := featio.Load(*feats, *labels)
	if err != nil {
		return err
	}
	if *files != "" {
		if ds.Group, err = featio.LoadGroups(*files, ds.N); err != nil {
			return err
		}
	}
	cfg := head.Config{Epochs: *epochs, BatchSize: *batch, LR: *lr, Optimizer: *opt, WeightDecay: *wd, L2: *l2,
		Schedule: *schedule, WarmupEpochs: *warmup, ValFraction: *val, Seed: *seed, Patience: *patience,
		ClassWeighting: *balanced, LabelSmoothing: *smoothing, ClipNorm: *clip, NoStandardize: *noStd}
	if *opt == "sgd" {
		cfg.Momentum, cfg.Nesterov = *momentum, *nesterov
	}
	switch *kind {
	case "linear", "auto":
	case "mlp":
		for _, s := range strings.Split(*hidden, ",") {
			h, err := strconv.Atoi(strings.TrimSpace(s))
			if err != nil {
				return fmt.Errorf("-hidden %q: widths must be whole numbers", *hidden)
			}
			cfg.Hidden = append(cfg.Hidden, h)
		}
		cfg.Activation, cfg.Dropout = *act, float32(*dropout)
	default:
		return fmt.Errorf("-head %q: use linear, mlp or auto", *kind)
	}
	fmt.Fprintf(os.Stderr, "%d rows × %d features, %d classes (%s)\n", ds.N, ds.D, len(ds.Labels), countsLine(ds))

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	ctl := head.NewControl()
	go func() { <-ctx.Done(); ctl.Cancel() }() // Ctrl-C keeps the best head so far

	var bar *progressbar.ProgressBar
	total := *epochs
	if *kind == "auto" {
		total = len(head.ProbeLambdas) + 2
	}
	if !*quiet {
		bar = progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr), progressbar.OptionSetWidth(30),
			progressbar.OptionShowCount(), progressbar.OptionSetPredictTime(false), progressbar.OptionClearOnFinish())
	}
	progress := func(e head.Event) {
		if bar == nil {
			return
		}
		switch e.Kind {
		case "epoch":
			bar.Describe(fmt.Sprintf("loss %.4f val %.4f acc %5.1f%% %6.0f/s", e.TrainLoss, e.ValLoss, 100*e.ValAcc, e.SamplesPerSec))
			bar.Add(1)
		case "trial":
			bar.Describe(fmt.Sprintf("λ=%.0e val acc %5.1f%%", e.Lambda, 100*e.ValAcc))
			bar.Add(1)
		}
	}
	start := time.Now()
	var m *head.Model
	var rep *head.Report
	if *kind == "auto" {
		m, rep, err = head.AutoProbe(context.Background(), ds, cfg, ctl, progress)
	} else {
		m, rep, err = head.Train(context.Background(), ds, cfg, ctl, progress)
	}
	if bar != nil {
		bar.Finish()
	}
	if err != nil {
		return err
	}
	m.Meta.BackboneID, m.Meta.Tap = *backboneID, *tap
	m.Meta.Created = time.Now().UTC().Format(time.RFC3339)
	b, err := m.MarshalSafetensors()
	if err != nil {
		return err
	}
	if err := writeFileAtomic(*out, b); err != nil {
		return err
	}
	how := fmt.Sprintf("%d epochs", rep.Epochs)
	if *kind == "auto" {
		how = fmt.Sprintf("auto probe, λ=%.2g, %d L-BFGS iterations", rep.Lambda, rep.Epochs)
	} else if rep.StoppedEarly {
		how += fmt.Sprintf(", stopped early, best epoch %d", rep.BestEpoch)
	}
	if rep.Cancelled {
		how += ", interrupted"
	}
	fmt.Fprintf(stdout, "trained %s head (%s) in %.2fs\n", m.Arch.Kind(), how, time.Since(start).Seconds())
	printReport(stdout, rep)
	fmt.Fprintf(stdout, "wrote %s (%d bytes)\n", *out, len(b))
	return nil
}

func countsLine(ds *head.Dataset) string {
	counts := ds.Counts()
	parts := make([]string, len(counts))
	for i, c := range counts {
		parts[i] = fmt.Sprintf("%s %d", ds.Labels[i], c)
	}
	if len(parts) > 8 {
		parts = append(parts[:8], "…")
	}
	return strings.Join(parts, ", ")
}

// writeFileAtomic writes through a temporary file and a rename, so a full disk or an interrupt
// never leaves a half-written head where a good one was.
func writeFileAtomic(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %v", path, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("writing %s: %v", path, err)
	}
	return nil
}
