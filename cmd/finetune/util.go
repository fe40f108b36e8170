package main

import (
	"io"
	"math"
	"os"
	"strings"
)

// stdout is where results go (tests swap it; os.Pipe does not exist under wasm).
var stdout io.Writer = os.Stdout

// logf is log(p) with p clamped away from 0, so a confident mistake costs a large finite loss.
func logf(p float32) float64 { return math.Log(math.Max(float64(p), 1e-12)) }

// csvField quotes a label for CSV when it needs it.
func csvField(s string) string {
	if strings.ContainsAny(s, ",\"\n\r") {
		return `"` + strings.ReplaceAll(s, `"`, `""`) + `"`
	}
	return s
}
