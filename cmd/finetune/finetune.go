package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"time"

	"finetuner/backbone"
	"finetuner/head"
	"finetuner/tune"
)

// runFinetuneTrain is "finetune train -finetune-blocks N": the last N inverted-residual blocks of
// the backbone (and the layers after them) train together with a linear head, on activations
// cached once below them. It writes one head file holding the head and the changed layers.
func runFinetuneTrain(args []string) error {
	fl := flag.NewFlagSet("train", flag.ContinueOnError)
	fl.Usage = func() {
		fmt.Fprintln(fl.Output(), `usage: finetune train -finetune-blocks N [flags] photos/      (photos/<class>/<image>)

Fine-tunes the last N blocks of the backbone with a linear head. Each photo runs once through
the frozen layers below the blocks and that activation is cached; then a linear head is fitted
on the frozen features (the frozen probe, reported for comparison), and the blocks and head train
together with Adam, keeping the epoch with the lowest validation loss (Ctrl-C stops and keeps it).
The head file (format_version 2) carries the changed backbone layers; "finetune extract -head"
applies them to compute features.`)
		fl.PrintDefaults()
	}
	blocks := fl.Int("finetune-blocks", 1, "last inverted-residual blocks to fine-tune")
	models := fl.String("models", "public/models", "folder of converted backbones (./build.sh models)")
	id := fl.String("backbone", "centernet", "backbone id (a folder under -models)")
	out := fl.String("o", "head.safetensors", "output head file")
	epochs := fl.Int("epochs", 15, "epochs of joint training")
	batch := fl.Int("batch", 16, "batch size")
	lr := fl.Float64("lr", 1e-4, "learning rate of the backbone layers (Adam)")
	headLR := fl.Float64("head-lr", 1e-2, "learning rate of the frozen probe's head (the joint phase uses a tenth)")
	val := fl.Float64("val", 0.2, "validation fraction (stratified)")
	seed := fl.Uint64("seed", 1, "seed of the split and the training order")
	patience := fl.Int("patience", 4, "stop after this many epochs without a better validation loss (0: never)")
	if err := fl.Parse(args); err != nil {
		return err
	}
	items, classes, err := photoFolder(fl.Args())
	if err != nil {
		return err
	}
	m, err := loadAt(filepath.Join(*models, *id), 0, "")
	if err != nil {
		return err
	}
	cut, names, err := m.FinetuneCut(*blocks)
	if err != nil {
		return err
	}
	info := m.Info()
	pix, y, err := loadPhotos(m, items, classes)
	if err != nil {
		return err
	}
	below, err := m.Section("", cut, false)
	if err != nil {
		return err
	}
	top, err := m.Section(cut, "", true)
	if err != nil {
		return err
	}
	t0 := time.Now()
	lo, span := info.InputRange[0], info.InputRange[1]-info.InputRange[0]
	z := make([]float32, len(pix[0]))
	rows := make([][]float32, len(pix))
	var cacheBytes int64
	for i, p := range pix {
		for k, v := range p {
			z[k] = lo + span*v
		}
		rows[i] = append([]float32(nil), below.Forward(z)...)
		cacheBytes += 4 * int64(len(rows[i]))
	}
	fmt.Printf("%d photos, %d classes; %s: fine-tuning %v and the layers after them, on %v activations of %s (cached in %.1fs)\n",
		len(pix), len(classes), info.ID, names, top.InShape(), cut, time.Since(t0).Seconds())

	// The estimate: one forward and backward of the blocks, timed, times the rows of an epoch.
	train, valRows := head.Split(y, len(classes), *val, *seed)
	plan := tune.NewPlan(top, nil, len(rows), len(train), 0)
	fmt.Printf("memory: %s of cached activations + %s of block activations and gradients + %s of weights, gradients and Adam moments\n",
		humanBytes(cacheBytes), humanBytes(plan.SectionBytes), humanBytes(plan.WeightBytes))
	fmt.Printf("time: about %.1fs per epoch (%.0f ms per image forward and backward), at most %.0fs for %d epochs\n",
		plan.SecPerEpoch, plan.MsPerRow, plan.SecPerEpoch*float64(*epochs), *epochs)

	cfg := tune.DefaultConfig()
	cfg.Epochs, cfg.Batch, cfg.LRBackbone, cfg.LRHead, cfg.Seed, cfg.Patience = *epochs, *batch, *lr, *headLR, *seed, *patience
	cfg.Progress = func(e int, l, a float64) {
		fmt.Printf("epoch %2d: val loss %.4f acc %5.1f%%\n", e, l, 100*a)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	st, res, err := tune.Train(ctx, top, info.Pool == "mean", rows, y, len(classes), train, valRows, nil, cfg)
	if err != nil {
		return err
	}
	if ctx.Err() != nil {
		fmt.Println("interrupted: keeping the best epoch so far")
	}
	fmt.Printf("frozen probe: val acc %.1f%% | fine-tuned %d blocks: val acc %.1f%% (best val loss %.4f, %d epochs)\n",
		100*res.ProbeValAcc, *blocks, 100*res.ValAcc, res.ValLoss, res.Epochs)

	hm, err := st.HeadModel(info, classes, names, cut)
	if err != nil {
		return err
	}
	hm.Meta.Metrics = map[string]float64{"val_acc": res.ValAcc, "val_loss": res.ValLoss, "probe_val_acc": res.ProbeValAcc}
	fb := hm.Backbone
	b, err := hm.MarshalSafetensors()
	if err != nil {
		return err
	}
	if err := os.WriteFile(*out, b, 0o644); err != nil {
		return err
	}
	fmt.Printf("wrote %s (%s: the head and %d backbone tensors)\n", *out, humanBytes(int64(len(b))), len(fb.Names))
	return nil
}

// withHeadLayers returns m with the fine-tuned layers of the head file at path applied, or an
// error saying why the head does not fit m.
func withHeadLayers(m *backbone.Model, path string) (*backbone.Model, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	hm, err := head.ReadModel(b)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	if hm.Backbone == nil {
		return nil, fmt.Errorf("%s is a head on frozen features (no fine-tuned layers); extract without -head", path)
	}
	if id := m.Info().ID; hm.Meta.BackboneID != id {
		return nil, fmt.Errorf("%s was fine-tuned on backbone %q; this is %q (use -backbone %s)", path, hm.Meta.BackboneID, id, hm.Meta.BackboneID)
	}
	if hm.D != m.Dim() {
		return nil, fmt.Errorf("%s takes %d-d features; backbone %q gives %d", path, hm.D, m.Info().ID, m.Dim())
	}
	out, err := m.WithWeights(hm.Backbone.Tensors)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// photoFolder lists the one folder of photos the image commands take (photos/<class>/<image>).
func photoFolder(args []string) ([]imageItem, []string, error) {
	if len(args) != 1 {
		return nil, nil, errors.New("give one folder of photos: photos/<class>/<image> (fine-tuning and the attack need the images, not features)")
	}
	items, classes, err := listImages(args[0])
	if err != nil {
		return nil, nil, err
	}
	if len(classes) < 2 {
		return nil, nil, fmt.Errorf("%s has %d class folders; need at least 2", args[0], len(classes))
	}
	return items, classes, nil
}
