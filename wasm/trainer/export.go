//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"syscall/js"

	"finetuner/modelexport"
	"finetuner/wasm/jsval"
)

// exportModel({format, files}) returns the trained head and the loaded backbone as one model
// (modelexport): format "tfjs" gives a .zip of the TF.js graph model's files, "onnx" the .onnx
// file; files maps the backbone's model.json and weight files to their bytes, as loadBackbone
// takes them.
func (a *app) exportModel(args []js.Value) (any, error) {
	o, err := object(args, "exportModel({format, files})")
	if err != nil {
		return nil, err
	}
	if o.Get("format").Type() != js.TypeString || o.Get("files").Type() != js.TypeObject {
		return nil, errors.New("exportModel needs a format (a string) and files (an object of Uint8Arrays)")
	}
	m := a.hs.model
	if m == nil {
		return nil, errors.New("no head to export: train one first")
	}
	files, err := fileBytes(o.Get("files"))
	if err != nil {
		return nil, err
	}
	var b []byte
	switch f := o.Get("format").String(); f {
	case "tfjs":
		out, err := modelexport.TFJS(files, m)
		if err != nil {
			return nil, err
		}
		if b, err = modelexport.Zip(out); err != nil {
			return nil, err
		}
	case "onnx":
		if b, err = modelexport.ONNX(files, m); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unknown export format %q (use tfjs or onnx)", f)
	}
	return jsval.Uint8Array(b), nil
}
