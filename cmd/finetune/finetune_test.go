package main

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"finetuner/head"
)

// TestFinetuneTrain runs "train -finetune-blocks 1" on a small folder of generated photos against
// the real centernet, reads the head file back (format 2, the block's tensors, the metadata), runs
// "extract -head" with it, and checks the errors: a block count out of range, a missing folder,
// the head on the wrong backbone, a plain head given to extract -head.
func TestFinetuneTrain(t *testing.T) {
	models := os.Getenv("FINETUNER_MODELS")
	if models == "" {
		models = "../../public/models"
	}
	for _, id := range []string{"centernet", "mobilenetv2"} {
		if _, err := os.Stat(filepath.Join(models, id, "model.json")); err != nil {
			t.Skipf("no converted models in %s (./build.sh models)", models)
		}
	}
	dir := t.TempDir()
	photos := filepath.Join(dir, "photos")
	for c, class := range []string{"red", "blue"} {
		for i := 0; i < 3; i++ {
			m := image.NewRGBA(image.Rect(0, 0, 64, 64))
			for y := 0; y < 64; y++ {
				for x := 0; x < 64; x++ {
					v := uint8(40*i + x ^ y)
					m.Set(x, y, [2]color.RGBA{{220, v, v, 255}, {v, v, 220, 255}}[c])
				}
			}
			var b bytes.Buffer
			png.Encode(&b, m)
			os.MkdirAll(filepath.Join(photos, class), 0o755)
			os.WriteFile(filepath.Join(photos, class, string(rune('a'+i))+".png"), b.Bytes(), 0o644)
		}
	}
	out := filepath.Join(dir, "ft.safetensors")
	if err := runTrain([]string{"-finetune-blocks", "1", "-models", models, "-epochs", "1", "-val", "0.34", "-o", out, photos}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	hm, err := head.ReadModel(b)
	if err != nil {
		t.Fatal(err)
	}
	if hm.Backbone == nil || len(hm.Backbone.Blocks) != 1 || hm.Backbone.Blocks[0] != "expanded_conv_14" || len(hm.Backbone.Names) == 0 {
		t.Fatalf("fine-tuned part: %+v", hm.Backbone)
	}
	if _, ok := hm.Meta.Metrics["probe_val_acc"]; hm.Meta.BackboneID != "centernet" || hm.D != 480 || !ok {
		t.Fatalf("meta %+v, D %d", hm.Meta, hm.D)
	}
	t.Logf("%d backbone tensors, %d bytes", len(hm.Backbone.Names), len(b))
	feats := filepath.Join(dir, "f.npy")
	if err := runExtract([]string{"-q", "-backbone", filepath.Join(models, "centernet"), "-head", out, "-o", feats, "-labels", filepath.Join(dir, "l.txt"), photos}); err != nil {
		t.Fatal(err)
	}
	plain := filepath.Join(dir, "plain.safetensors")
	hm.Backbone = nil
	pb, _ := hm.MarshalSafetensors()
	os.WriteFile(plain, pb, 0o644)
	for want, args := range map[string][]string{
		"use 1..":                  {"train", "-finetune-blocks", "99", "-models", models, photos},
		"no such file":             {"train", "-finetune-blocks", "1", "-models", models, filepath.Join(dir, "nope")},
		"one folder of photos":     {"train", "-finetune-blocks", "1", "-models", models},
		"was fine-tuned on":        {"extract", "-q", "-backbone", filepath.Join(models, "mobilenetv2"), "-head", out, "-o", feats, photos},
		"a head on frozen feature": {"extract", "-q", "-backbone", filepath.Join(models, "centernet"), "-head", plain, "-o", feats, photos},
	} {
		var err error
		if args[0] == "train" {
			err = runTrain(args[1:])
		} else {
			err = runExtract(args[1:])
		}
		// Lower case: the operating system's words differ in case between builds (js/wasm's
		// syscall table says "No such file or directory").
		if err == nil || !strings.Contains(strings.ToLower(err.Error()), strings.ToLower(want)) {
			t.Errorf("%v: got error %v, want one containing %q", args, err, want)
		}
	}
}
