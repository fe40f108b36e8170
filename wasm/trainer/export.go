//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"syscall/js"

	"finetuner/modelexport"
	"finetuner/wasm/jsval"
)

// exportModel(format, files) returns the trained head and the loaded backbone as one model
// (modelexport): format "tfjs" gives a .zip of the TF.js graph model's files, "onnx" the .onnx
// file; files maps the backbone's model.json and weight files to their bytes, as loadBackbone
// takes them.
func (a *app) exportModel(args []js.Value) (any, error) {
	if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeObject {
		return nil, errors.New("exportModel(format, files) expects a string and an object")
	}
	m := a.hs.model
	if m == nil {
		return nil, errors.New("no head to export: train one first")
	}
	files, err := fileBytes(args[1])
	if err != nil {
		return nil, err
	}
	var b []byte
	switch f := args[0].String(); f {
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
