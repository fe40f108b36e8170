package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"finetuner/head"
	"finetuner/modelexport"
)

func init() {
	register("export", "head + its backbone → one model, image in, probabilities out (-format tfjs|onnx)", runExport)
}

func runExport(args []string) error {
	fl := flag.NewFlagSet("export", flag.ContinueOnError)
	format := fl.String("format", "tfjs", "tfjs: a TF.js graph model (model.json + weight files); onnx: one .onnx file")
	headPath := fl.String("head", "head.safetensors", "head file")
	models := fl.String("models", "public/models", "directory of converted backbones (./build.sh models)")
	bbDir := fl.String("backbone", "", "the backbone's directory (default: MODELS/<the head's backbone>)")
	out := fl.String("o", "", "tfjs: output directory (created; files in it are replaced) or a file name ending in .zip; onnx: the .onnx file")
	if err := fl.Parse(args); err != nil {
		return err
	}
	if *out == "" {
		return fmt.Errorf("give an output directory with -o")
	}
	b, err := os.ReadFile(*headPath)
	if err != nil {
		return err
	}
	h, err := head.ReadModel(b)
	if err != nil {
		return fmt.Errorf("%s: %v", *headPath, err)
	}
	dir := *bbDir
	if dir == "" {
		if h.Meta.BackboneID == "" {
			return fmt.Errorf("%s does not name its backbone: give it with -backbone %s/<id>", *headPath, *models)
		}
		dir = filepath.Join(*models, h.Meta.BackboneID)
	}
	files, err := readDir(dir)
	if err != nil {
		return err
	}
	var exported map[string][]byte
	switch *format {
	case "tfjs":
		exported, err = modelexport.TFJS(files, h)
	case "onnx":
		var b []byte
		b, err = modelexport.ONNX(files, h)
		if err == nil {
			if err := os.WriteFile(*out, b, 0o644); err != nil {
				return err
			}
			fmt.Fprintf(stdout, "exported onnx: %s backbone + %s head (%d classes) → %s, %.2f MB\n",
				filepath.Base(dir), h.Arch.Kind(), h.C, *out, float64(len(b))/1e6)
			return nil
		}
	default:
		return fmt.Errorf("unknown -format %q: use tfjs or onnx", *format)
	}
	if err != nil {
		return err
	}
	names := make([]string, 0, len(exported))
	var total int
	for name, data := range exported {
		names = append(names, name)
		total += len(data)
	}
	sort.Strings(names)
	if strings.HasSuffix(*out, ".zip") {
		z, err := modelexport.Zip(exported)
		if err != nil {
			return err
		}
		if err := os.WriteFile(*out, z, 0o644); err != nil {
			return err
		}
	} else {
		if err := os.MkdirAll(*out, 0o755); err != nil {
			return err
		}
		for name, data := range exported {
			if err := os.WriteFile(filepath.Join(*out, name), data, 0o644); err != nil {
				return err
			}
		}
	}
	fmt.Fprintf(stdout, "exported %s: %s backbone + %s head (%d classes) → %s %v, %.2f MB\n",
		*format, filepath.Base(dir), h.Arch.Kind(), h.C, *out, names, float64(total)/1e6)
	return nil
}

// readDir reads the regular files of a backbone's directory (model.json and its weights).
func readDir(dir string) (map[string][]byte, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, fmt.Errorf("backbone: %v (build the backbones with ./build.sh models)", err)
	}
	files := map[string][]byte{}
	for _, e := range ents {
		if !e.Type().IsRegular() {
			continue
		}
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		files[e.Name()] = b
	}
	return files, nil
}
