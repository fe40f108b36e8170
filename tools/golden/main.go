// Command golden prepares the inputs of the backbone golden test: it decodes and preprocesses photos
// with the Go code under test and writes, for each backbone in the models directory, the network
// inputs as raw little-endian float32 (inputs_<id>.f32, N×S×S×3) plus the list of photos
// (photos.txt). tools/tfjs-ref/features.mjs then computes TensorFlow.js's features of exactly these
// inputs, and backbone's TestGolden compares ours with them.
//
//	go run ./tools/golden -models public/models -o DIR photo.png ...
package main

import (
	"encoding/binary"
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"

	"finetuner/backbone"
	"finetuner/imagefile"
)

func main() {
	models := flag.String("models", "public/models", "directory with manifest.json and one directory per backbone")
	out := flag.String("o", "", "output directory")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: golden -models DIR -o DIR photo...")
		os.Exit(2)
	}
	if err := run(*models, *out, flag.Args()); err != nil {
		fmt.Fprintln(os.Stderr, "golden:", err)
		os.Exit(1)
	}
}

func run(models, out string, photos []string) error {
	var man struct {
		Backbones []backbone.Info `json:"backbones"`
	}
	b, err := os.ReadFile(filepath.Join(models, "manifest.json"))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, &man); err != nil {
		return fmt.Errorf("manifest.json: %v", err)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "photos.txt"), []byte(strings.Join(photos, "\n")+"\n"), 0o644); err != nil {
		return err
	}
	for _, info := range man.Backbones {
		m, err := backbone.Load(os.DirFS(models), info.ID)
		if err != nil {
			return err
		}
		var buf []byte
		var x []float32
		for _, p := range photos {
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rgba, w, h, err := imagefile.Decode(data)
			if err != nil {
				return fmt.Errorf("%s: %v", p, err)
			}
			if err := m.Preprocess(&x, rgba, w, h, backbone.View{}); err != nil {
				return fmt.Errorf("%s: %v", p, err)
			}
			for _, v := range x {
				buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
			}
		}
		if err := os.WriteFile(filepath.Join(out, "inputs_"+info.ID+".f32"), buf, 0o644); err != nil {
			return err
		}
		fmt.Printf("%s: %d photos preprocessed to %dx%d\n", info.ID, len(photos), info.InputSize, info.InputSize)
	}
	return nil
}
