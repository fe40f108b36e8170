//go:build js && wasm

// Package jshead reads the head package's inputs from JavaScript values, for the wasm entry
// points that train (the app's trainer and the bench). It is apart from jsval so that the plot,
// which needs jsval but no training, does not link the head package.
package jshead

import (
	"fmt"
	"syscall/js"

	"finetuner/head"
	"finetuner/wasm/jsval"
)

// Dataset reads training rows: x a Float32Array of n×d features, y an Int32Array of n labels,
// labels an array of class names.
func Dataset(x, y, n, d, labels js.Value) (*head.Dataset, error) {
	ds := &head.Dataset{}
	var err error
	if ds.X, err = jsval.Float32s(x, "x"); err != nil {
		return nil, err
	}
	if ds.Y, err = jsval.Int32s(y, "y"); err != nil {
		return nil, err
	}
	if ds.N, err = jsval.Int(n, "n", 1, 1<<28); err != nil {
		return nil, err
	}
	if ds.D, err = jsval.Int(d, "d", 1, 1<<16); err != nil {
		return nil, err
	}
	if !js.Global().Get("Array").Call("isArray", labels).Bool() {
		return nil, fmt.Errorf("labels must be an array of class names")
	}
	ds.Labels = make([]string, labels.Length())
	for i := range ds.Labels {
		ds.Labels[i] = labels.Index(i).String()
	}
	return ds, nil
}
