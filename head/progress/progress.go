// Package progress is the training progress stream: the Event a run emits after every step,
// epoch, probe trial and at the end, and its one wire encoding. The trainer worker packs a batch
// of events into a Float64Array, the page forwards that array to the plot frame as it is, and the
// plot unpacks it here: no JSON on the way, and one schema on both sides of the wire.
//
// An encoded event is Width float64s in the order of Fields; the kind is its index in Kinds and
// hasVal is 0 or 1. js/events.js reads the same layout (a test holds the two together).
package progress

import (
	"encoding/binary"
	"fmt"
	"math"
)

// Event is one entry of the progress stream that the page and the CLI both consume. Kind says
// which fields are set: "step" after every optimizer step, "epoch" after every epoch (with the
// validation numbers when there is a validation split), "trial" after each L2 strength of the
// automatic probe, "done" once at the end.
type Event struct {
	Kind          string  `json:"kind"`
	Epoch         int     `json:"epoch"` // 1-based
	Epochs        int     `json:"epochs"`
	Step          int     `json:"step"` // 1-based, global
	Steps         int     `json:"steps"`
	TrainLoss     float64 `json:"trainLoss"`
	TrainAcc      float64 `json:"trainAcc"`
	HasVal        bool    `json:"hasVal"`
	ValLoss       float64 `json:"valLoss"`
	ValAcc        float64 `json:"valAcc"`
	LR            float64 `json:"lr"`
	Lambda        float64 `json:"lambda,omitempty"`
	SamplesPerSec float64 `json:"samplesPerSec"`
	ElapsedMs     float64 `json:"elapsedMs"`
}

// Kinds lists the event kinds; an encoded event stores its kind as the index here.
var Kinds = []string{"step", "epoch", "trial", "done"}

// Fields names the float64s of one encoded event, in order (the JSON names of Event's fields).
var Fields = []string{"kind", "epoch", "epochs", "step", "steps", "trainLoss", "trainAcc", "hasVal",
	"valLoss", "valAcc", "lr", "lambda", "samplesPerSec", "elapsedMs"}

// Width is the number of float64s per encoded event.
const Width = 14

func kindCode(k string) int {
	for i, s := range Kinds {
		if s == k {
			return i
		}
	}
	return -1
}

// Append encodes e at the end of dst. An event of a kind outside Kinds is a programmer error.
func Append(dst []float64, e Event) []float64 {
	k := kindCode(e.Kind)
	if k < 0 {
		panic("progress: unknown event kind " + e.Kind)
	}
	hv := 0.0
	if e.HasVal {
		hv = 1
	}
	return append(dst, float64(k), float64(e.Epoch), float64(e.Epochs), float64(e.Step), float64(e.Steps),
		e.TrainLoss, e.TrainAcc, hv, e.ValLoss, e.ValAcc, e.LR, e.Lambda, e.SamplesPerSec, e.ElapsedMs)
}

// Decode unpacks events encoded by Append. A length that is not a multiple of Width, an unknown
// kind or a count that is not a whole number is an error that names the event.
func Decode(src []float64) ([]Event, error) {
	if len(src)%Width != 0 {
		return nil, fmt.Errorf("progress: %d numbers is not a whole number of %d-number events", len(src), Width)
	}
	out := make([]Event, len(src)/Width)
	for i := range out {
		r := src[i*Width : (i+1)*Width]
		k := int(r[0])
		if float64(k) != r[0] || k < 0 || k >= len(Kinds) {
			return nil, fmt.Errorf("progress: event %d has kind code %v; want 0..%d", i, r[0], len(Kinds)-1)
		}
		var n [4]int
		for j := range n {
			v := r[1+j]
			if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
				return nil, fmt.Errorf("progress: event %d: %s %v is not a whole number", i, Fields[1+j], v)
			}
			n[j] = int(v)
		}
		out[i] = Event{Kind: Kinds[k], Epoch: n[0], Epochs: n[1], Step: n[2], Steps: n[3],
			TrainLoss: r[5], TrainAcc: r[6], HasVal: r[7] != 0, ValLoss: r[8], ValAcc: r[9], LR: r[10],
			Lambda: r[11], SamplesPerSec: r[12], ElapsedMs: r[13]}
	}
	return out, nil
}

// DecodeBytes unpacks the little-endian bytes of a Float64Array of encoded events (what
// js.CopyBytesToGo gives for the array's buffer).
func DecodeBytes(b []byte) ([]Event, error) {
	if len(b)%8 != 0 {
		return nil, fmt.Errorf("progress: %d bytes is not a whole number of float64s", len(b))
	}
	f := make([]float64, len(b)/8)
	for i := range f {
		f[i] = math.Float64frombits(binary.LittleEndian.Uint64(b[8*i:]))
	}
	return Decode(f)
}
