//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"syscall/js"

	"finetuner/modelexport"
	"finetuner/wasm/jsval"
)

// exportModel(format, files) returns a .zip of the trained head and the loaded backbone as one
// model (modelexport): format "tfjs"; files maps the backbone's model.json and weight files to
// their bytes, as loadBackbone takes them.
func (a *app) exportModel(args []js.Value) (any, error) {
	if len(args) != 2 || args[0].Type() != js.TypeString || args[1].Type() != js.TypeObject {
		return nil, errors.New("exportModel(format, files) expects a string and an object")
	}
	m := a.hs.model
	if m == nil {
		return nil, errors.New("no head to export: train one first")
	}
	keys := js.Global().Get("Object").Call("keys", args[1])
	files := map[string][]byte{}
	for i := 0; i < keys.Length(); i++ {
		k := keys.Index(i).String()
		b, err := jsval.Bytes(args[1].Get(k), k)
		if err != nil {
			return nil, err
		}
		files[k] = b
	}
	var out map[string][]byte
	var err error
	switch f := args[0].String(); f {
	case "tfjs":
		out, err = modelexport.TFJS(files, m)
	default:
		return nil, fmt.Errorf("unknown export format %q (use tfjs)", f)
	}
	if err != nil {
		return nil, err
	}
	z, err := modelexport.Zip(out)
	if err != nil {
		return nil, err
	}
	return jsval.Uint8Array(z), nil
}
