package head

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// Request is one training run as a page asks for it: the head's Config (the same fields, at the
// top level of the JSON object), whether to run the automatic linear probe instead of mini-batch
// training, and the backbone and tap the features came from, which the head file records.
//
//	{"auto": false, "hidden": [100], "activation": "relu", "epochs": 50, "batchSize": 16,
//	 "lr": 0.001, "valFraction": 0.2, "seed": 1, "patience": 10, "backbone": "centernet", "tap": "..."}
type Request struct {
	Config
	Auto     bool   `json:"auto"`
	Backbone string `json:"backbone"`
	Tap      string `json:"tap"`
	// FinetuneBlocks > 0 trains the last FinetuneBlocks blocks of the backbone with a linear head
	// on the images (the trainer's finetune call) instead of a head on frozen features; LR is
	// then the blocks' learning rate.
	FinetuneBlocks int `json:"finetuneBlocks"`
}

// ParseRequest decodes a Request from JSON. An unknown field is an error (a misspelt setting
// would otherwise train with its default), and so is any setting Config.Validate refuses.
func ParseRequest(b []byte) (Request, error) {
	var r Request
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&r); err != nil {
		return r, fmt.Errorf("training request: %v", err)
	}
	if r.FinetuneBlocks < 0 || r.FinetuneBlocks > 8 {
		return r, fmt.Errorf("training request: finetuneBlocks %d outside 0..8", r.FinetuneBlocks)
	}
	if err := r.Config.Defaults().Validate(); err != nil {
		return r, fmt.Errorf("training request: %v", err)
	}
	return r, nil
}
