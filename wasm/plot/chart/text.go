package chart

import (
	"fmt"
	"sort"
	"strings"
	"unicode"
)

// English is the plot's own text by key. The page replaces any of it with the "plot.KEY" entries of
// public/i18n/<lang>.json (sent as "strings" in an options message); these defaults keep the plot
// readable on its own. A test checks that en.json holds exactly these keys and texts.
var English = map[string]string{
	"curves":        "Curves",
	"eval":          "Evaluation",
	"logY":          "log y",
	"waiting":       "waiting for training",
	"loss":          "loss",
	"epoch":         "epoch",
	"iteration":     "iteration",
	"valLoss":       "val loss",
	"valAcc":        "val acc",
	"done":          "done",
	"lossTitle":     "Loss",
	"accTitle":      "Accuracy",
	"train":         "train",
	"trainSmoothed": "train (smoothed)",
	"val":           "val",
	"noData":        "no data yet",
	"confusion":     "Confusion matrix",
	"afterTraining": "after training",
	"predicted":     "predicted →",
	"true":          "true ←",
	"perClass":      "Per-class accuracy",
}

// T returns the text for key: the page's translation if it sent one, else English, else the key
// itself (so a missing text shows, never blank).
func (s *State) T(key string) string {
	if t, ok := s.Text[key]; ok {
		return t
	}
	if t, ok := English[key]; ok {
		return t
	}
	return key
}

// checkText rejects translations the plot would draw wrongly: unknown keys (a typo, or an i18n
// file newer than the plot) and empty texts.
func checkText(m map[string]string) error {
	var unknown []string
	for k, v := range m {
		if _, ok := English[k]; !ok {
			unknown = append(unknown, k)
			continue
		}
		if strings.TrimSpace(v) == "" {
			return fmt.Errorf("plot: the text for %q is empty", k)
		}
	}
	if len(unknown) > 0 {
		sort.Strings(unknown)
		return fmt.Errorf("plot: unknown text keys %q (the i18n file's plot.* keys must match wasm/plot/chart.English)", unknown)
	}
	return nil
}

// Missing returns the runes of strs that has cannot draw, each once, in order of first appearance.
// Spaces and control characters need no glyph.
func Missing(has func(rune) bool, strs ...string) []rune {
	var out []rune
	seen := map[rune]bool{}
	for _, s := range strs {
		for _, r := range s {
			if seen[r] || unicode.IsSpace(r) || unicode.IsControl(r) {
				continue
			}
			seen[r] = true
			if !has(r) {
				out = append(out, r)
			}
		}
	}
	return out
}

// NeedsFallback reports whether the plot needs its fallback font: the page speaks Japanese, or a
// class name or a translated text has a rune the primary font (has) cannot draw.
func (s *State) NeedsFallback(has func(rune) bool) bool {
	if s.Lang == "ja" || strings.HasPrefix(s.Lang, "ja-") {
		return true
	}
	if len(Missing(has, s.Labels...)) > 0 {
		return true
	}
	for _, t := range s.Text {
		if len(Missing(has, t)) > 0 {
			return true
		}
	}
	return false
}
