// Command embedfeatures precomputes the demo set's features at two taps of a backbone, so the docs
// embed (public/embed.html) can start training within a second of loading instead of first running
// the backbone on every demo photo in the browser.
//
//	go run ./tools/embedfeatures -models public/models -demo public/demo -o public/build/features
//
// For each preset it writes NAME.npy (float32, rows × dim, the CLI's format) and NAME.txt (one class
// per row), and index.json listing the presets with their backbone, tap, pooling and dimension. The
// "mid" presets load the same weights with the tap moved to a mid-level block: the backbone's graph
// runtime compiles the path from the input to any node, so a tap is just a node name.
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"strings"
	"time"

	"finetuner/backbone"
	"finetuner/featio"
	"finetuner/imagefile"
)

// preset is one precomputed feature set, as index.json lists it (js/embed-page.js reads it).
type preset struct {
	Name     string `json:"name"`
	Backbone string `json:"backbone"`
	Level    string `json:"level"` // "deep" or "mid"
	Tap      string `json:"tap"`
	Pool     string `json:"pool"`
	Dim      int    `json:"dim"`
	Rows     int    `json:"rows"`
	Features string `json:"features"`
	Labels   string `json:"labels"`
}

// midTaps names the mid-level block of each backbone: stride 16 on a 224 input (14×14), well
// below the deep tap the manifest uses (stride 32, 7×7).
var midTaps = map[string]string{
	"centernet": "tower_0/MobilenetV3/expanded_conv_9/add",
}

type demoManifest struct {
	Classes []struct {
		Name  string   `json:"name"`
		Files []string `json:"files"`
	} `json:"classes"`
}

func main() {
	models := flag.String("models", "public/models", "folder of converted backbones (./build.sh models)")
	demo := flag.String("demo", "public/demo", "demo set folder with manifest.json (./build.sh web)")
	out := flag.String("o", "public/build/features", "output folder")
	ids := flag.String("backbones", "centernet", "comma-separated backbone ids")
	flag.Parse()
	if err := run(*models, *demo, *out, strings.Split(*ids, ",")); err != nil {
		log.Fatalf("embedfeatures: %v", err)
	}
}

func run(models, demo, out string, ids []string) error {
	var dm demoManifest
	b, err := os.ReadFile(filepath.Join(demo, "manifest.json"))
	if err != nil {
		return fmt.Errorf("%v (build the demo set first: ./build.sh web)", err)
	}
	if err := json.Unmarshal(b, &dm); err != nil {
		return fmt.Errorf("%s/manifest.json: %v", demo, err)
	}
	if len(dm.Classes) < 2 {
		return errors.New("the demo manifest lists fewer than two classes")
	}
	type img struct {
		class string
		rgba  []byte
		w, h  int
	}
	var imgs []img
	for _, c := range dm.Classes {
		for _, f := range c.Files {
			data, err := os.ReadFile(filepath.Join(demo, filepath.FromSlash(f)))
			if err != nil {
				return err
			}
			rgba, w, h, err := imagefile.Decode(data)
			if err != nil {
				return fmt.Errorf("%s: %v", f, err)
			}
			imgs = append(imgs, img{c.Name, rgba, w, h})
		}
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	var index []preset
	for _, id := range ids {
		mj, err := os.ReadFile(filepath.Join(models, id, "model.json"))
		if err != nil {
			return err
		}
		var wrap struct {
			Finetuner *backbone.Info `json:"finetuner"`
		}
		if err := json.Unmarshal(mj, &wrap); err != nil || wrap.Finetuner == nil {
			return fmt.Errorf("%s/model.json has no finetuner block", id)
		}
		levels := []struct{ level, tap, pool string }{{"deep", wrap.Finetuner.Tap, wrap.Finetuner.Pool}}
		if t, ok := midTaps[id]; ok {
			levels = append(levels, struct{ level, tap, pool string }{"mid", t, "mean"})
		}
		for _, lv := range levels {
			info := *wrap.Finetuner
			info.Tap, info.Pool, info.Dim = lv.tap, lv.pool, 0
			shard := func(p string) ([]byte, error) { return os.ReadFile(filepath.Join(models, id, p)) }
			m, err := backbone.LoadGraphModel(mj, shard, &info)
			if err != nil {
				return fmt.Errorf("%s at tap %s: %v", id, lv.tap, err)
			}
			d := m.Dim()
			x := make([]float32, len(imgs)*d)
			var lab strings.Builder
			t0 := time.Now()
			for i, im := range imgs {
				if err := m.Features(x[i*d:(i+1)*d], im.rgba, im.w, im.h); err != nil {
					return err
				}
				lab.WriteString(im.class + "\n")
			}
			name := "demo-" + id + "-" + lv.level
			f, err := os.Create(filepath.Join(out, name+".npy"))
			if err != nil {
				return err
			}
			if err := featio.WriteNPY(f, x, len(imgs), d); err != nil {
				f.Close()
				return err
			}
			if err := f.Close(); err != nil {
				return err
			}
			if err := os.WriteFile(filepath.Join(out, name+".txt"), []byte(lab.String()), 0o644); err != nil {
				return err
			}
			index = append(index, preset{Name: name, Backbone: id, Level: lv.level, Tap: lv.tap, Pool: lv.pool, Dim: d,
				Rows: len(imgs), Features: name + ".npy", Labels: name + ".txt"})
			fmt.Fprintf(os.Stderr, "%s: %d images × %d-d at %s in %.1fs\n", name, len(imgs), d, lv.tap, time.Since(t0).Seconds())
		}
	}
	j, err := json.MarshalIndent(map[string]any{"format": "finetuner-embed-features/1", "presets": index}, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(out, "index.json"), append(j, '\n'), 0o644)
}
