// Package chart is the plot page's model, free of Ebiten and syscall/js so it is tested natively:
// the training history built from progress messages, smoothing, axis ticks on linear and log
// scales, and the layout of a frame (layout.go: views, panels, status line, axes and the mapping
// from data to pixels). wasm/plot paints what this package computes.
package chart

import (
	"fmt"
	"math"
	"strings"

	"finetuner/head/progress"
)

// Event is one training progress event, as the trainer emits it.
type Event = progress.Event

// ClassMetric is one class's line of the evaluation report.
type ClassMetric struct {
	Precision float64 `json:"precision"`
	Recall    float64 `json:"recall"`
	Accuracy  float64 `json:"accuracy"`
	Support   int     `json:"support"`
}

// Message is what the page posts to the plot frame, as JSON.
//
//	{"type":"reset","labels":[...],"epochs":50}
//	{"type":"events","events":[{...},...]}     progress events (the frame gets them encoded, see
//	                                           progress; tests and saved projects spell them in JSON)
//	{"type":"report","labels":[...],"confusion":[[...]],"perClass":[...],"valAcc":0.9}
//	{"type":"options","logScale":true,"smooth":0.6,"view":"eval"}
//	{"type":"options","lang":"ja","theme":"dark","strings":{"lossTitle":"損失",...}}
//
// Every options field is optional; "strings" replaces all earlier translations (keys it lacks
// fall back to English, see English).
type Message struct {
	Type      string            `json:"type"`
	Labels    []string          `json:"labels"`
	Epochs    int               `json:"epochs"`
	Events    []Event           `json:"events"`
	Confusion [][]int           `json:"confusion"`
	PerClass  []ClassMetric     `json:"perClass"`
	ValAcc    float64           `json:"valAcc"`
	LogScale  *bool             `json:"logScale"`
	Smooth    *float64          `json:"smooth"`
	View      string            `json:"view"`
	Lang      *string           `json:"lang"`
	Theme     *string           `json:"theme"`
	Strings   map[string]string `json:"strings"`
}

// Series is a curve: X in epochs (fractional for steps), Y its value.
type Series struct{ X, Y []float64 }

func (s *Series) add(x, y float64) {
	if math.IsNaN(y) || math.IsInf(y, 0) {
		return
	}
	s.X = append(s.X, x)
	s.Y = append(s.Y, y)
}

// Len is the number of points.
func (s *Series) Len() int { return len(s.X) }

// State is everything the plot shows.
type State struct {
	Labels []string
	Epochs int    // planned epochs, for the x range before training ends
	XLabel string // "epoch", or "iteration" for the automatic probe's L-BFGS

	StepLoss  Series // per-step training loss (noisy; drawn faint, and smoothed)
	TrainLoss Series // per-epoch
	ValLoss   Series
	TrainAcc  Series
	ValAcc    Series

	Confusion [][]int
	PerClass  []ClassMetric
	FinalAcc  float64
	HasReport bool
	Done      bool

	LogScale bool
	Smooth   float64 // EMA weight of the smoothed step-loss curve, in [0,1)
	View     string  // "curves", "eval" or "" (automatic)

	Lang  string            // the page's language ("en", "ja"); "ja" loads the fallback font
	Theme string            // "light" or "dark"; see PaletteFor
	Text  map[string]string // the page's translations of English, by key

	Version int // incremented on every change, so the drawer knows when to redraw
}

// NewState returns an empty history with the default smoothing.
func NewState() *State { return &State{Smooth: 0.8} }

// ApplyMessage updates the state with one decoded message. The plot frame decodes the page's JSON
// with the browser's JSON.parse (MessageFromJS), which keeps encoding/json, some 80 kB of brotli,
// out of plot.wasm; the tests decode with encoding/json and the same struct tags (ParseMessage).
func (s *State) ApplyMessage(m Message) error {
	switch m.Type {
	case "reset":
		*s = State{Labels: m.Labels, Epochs: m.Epochs, XLabel: "epoch",
			LogScale: s.LogScale, Smooth: s.Smooth, View: s.View,
			Lang: s.Lang, Theme: s.Theme, Text: s.Text, Version: s.Version}
	case "events":
		for _, e := range m.Events {
			s.add(e)
		}
	case "report":
		if err := checkReport(m); err != nil {
			return err
		}
		s.Labels, s.Confusion, s.PerClass, s.FinalAcc, s.HasReport = m.Labels, m.Confusion, m.PerClass, m.ValAcc, true
	case "options":
		if err := checkOptions(m); err != nil {
			return err
		}
		if m.LogScale != nil {
			s.LogScale = *m.LogScale
		}
		if m.Smooth != nil {
			if *m.Smooth < 0 || *m.Smooth >= 1 || math.IsNaN(*m.Smooth) {
				return fmt.Errorf("plot: smooth must be in [0,1), got %v", *m.Smooth)
			}
			s.Smooth = *m.Smooth
		}
		if m.View != "" {
			s.View = m.View
		}
		if m.Lang != nil {
			s.Lang = *m.Lang
		}
		if m.Theme != nil {
			s.Theme = *m.Theme
		}
		if m.Strings != nil {
			s.Text = m.Strings
		}
	default:
		return fmt.Errorf("plot: unknown message type %q", m.Type)
	}
	s.Version++
	return nil
}

// checkOptions validates an options message before any of it is applied.
func checkOptions(m Message) error {
	if m.Theme != nil && *m.Theme != "light" && *m.Theme != "dark" {
		return fmt.Errorf("plot: theme must be \"light\" or \"dark\", got %q", *m.Theme)
	}
	if m.Lang != nil && (len(*m.Lang) > 16 || strings.ContainsAny(*m.Lang, " \t\n\"")) {
		return fmt.Errorf("plot: %q is not a language tag", *m.Lang)
	}
	if m.View != "" && m.View != "curves" && m.View != "eval" {
		return fmt.Errorf("plot: view must be \"curves\", \"eval\" or empty, got %q", m.View)
	}
	return checkText(m.Strings)
}

func checkReport(m Message) error {
	c := len(m.Labels)
	if len(m.Confusion) != c {
		return fmt.Errorf("plot: report has %d labels but a %d-row confusion matrix", c, len(m.Confusion))
	}
	for i, row := range m.Confusion {
		if len(row) != c {
			return fmt.Errorf("plot: confusion row %d has %d columns, want %d", i, len(row), c)
		}
	}
	if len(m.PerClass) != 0 && len(m.PerClass) != c {
		return fmt.Errorf("plot: report has %d labels but %d per-class rows", c, len(m.PerClass))
	}
	return nil
}

// add places one event on the curves. Steps sit at fractional epochs (step·epochs/steps, both
// counted over the whole run); the automatic probe counts L-BFGS iterations instead of epochs, and
// its "trial" events carry the validation numbers of each regularisation strength.
func (s *State) add(e Event) {
	if e.Lambda > 0 || e.Kind == "trial" {
		s.XLabel = "iteration"
	}
	if e.Epochs > 0 && s.Epochs == 0 {
		s.Epochs = e.Epochs
	}
	switch e.Kind {
	case "step":
		x := float64(e.Step)
		if e.Steps > 0 && e.Epochs > 0 {
			x = float64(e.Step) * float64(e.Epochs) / float64(e.Steps)
		}
		s.StepLoss.add(x, e.TrainLoss)
	case "epoch":
		x := float64(e.Epoch)
		s.TrainLoss.add(x, e.TrainLoss)
		if e.TrainAcc > 0 {
			s.TrainAcc.add(x, e.TrainAcc)
		}
		if e.HasVal {
			s.ValLoss.add(x, e.ValLoss)
			s.ValAcc.add(x, e.ValAcc)
		}
	case "trial":
		x := float64(e.Epoch)
		s.ValLoss.add(x, e.ValLoss)
		s.ValAcc.add(x, e.ValAcc)
	case "done":
		s.Done = true
	}
}

// XMax is the right end of the epoch axis: the planned epochs while training (the data's end if it
// runs further), the data's end once training is done (it may have stopped early).
func (s *State) XMax() float64 {
	m := float64(s.Epochs)
	if s.Done {
		m = 0
	}
	for _, ser := range []*Series{&s.StepLoss, &s.TrainLoss, &s.ValLoss, &s.ValAcc} {
		if n := ser.Len(); n > 0 && ser.X[n-1] > m {
			m = ser.X[n-1]
		}
	}
	if m < 1 {
		m = 1
	}
	return m
}

// Smoothed is the exponential moving average of ys with weight w, debiased at the start (as
// TensorBoard does) so the first points are not pulled towards zero.
func Smoothed(ys []float64, w float64) []float64 {
	out := make([]float64, len(ys))
	var acc, norm float64
	for i, y := range ys {
		acc = w*acc + (1-w)*y
		norm = w*norm + (1 - w)
		out[i] = acc / norm
	}
	return out
}

// Range returns the min and max of several slices, ignoring non-positive values when log is set.
func Range(log bool, ys ...[]float64) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), math.Inf(-1)
	for _, s := range ys {
		for _, y := range s {
			if log && y <= 0 {
				continue
			}
			lo, hi = math.Min(lo, y), math.Max(hi, y)
		}
	}
	if lo > hi {
		return 0, 1, false
	}
	if lo == hi {
		if log {
			lo, hi = lo/2, hi*2
		} else {
			lo, hi = lo-0.5, hi+0.5
		}
	}
	return lo, hi, true
}

// NiceTicks returns about n round tick values covering [lo, hi] (steps of 1, 2 or 5 × 10^k),
// and the widened range that starts and ends on a tick.
func NiceTicks(lo, hi float64, n int) (ticks []float64, tlo, thi float64) {
	if n < 2 {
		n = 2
	}
	if !(hi > lo) {
		hi = lo + 1
	}
	step := niceStep((hi - lo) / float64(n-1))
	tlo = math.Floor(lo/step) * step
	thi = math.Ceil(hi/step) * step
	for v := tlo; v <= thi+step/2; v += step {
		// Snap to the step grid so labels do not show 0.30000000000000004.
		ticks = append(ticks, math.Round(v/step)*step)
	}
	return ticks, tlo, thi
}

func niceStep(raw float64) float64 {
	e := math.Pow(10, math.Floor(math.Log10(raw)))
	f := raw / e
	switch {
	case f <= 1:
		return e
	case f <= 2:
		return 2 * e
	case f <= 5:
		return 5 * e
	}
	return 10 * e
}

// LogTicks returns the powers of ten (and 2× and 5× between them when the range is narrow)
// covering [lo, hi], lo > 0, and the range widened to whole decades.
func LogTicks(lo, hi float64) (ticks []float64, tlo, thi float64) {
	if lo <= 0 {
		lo = 1e-6
	}
	if hi <= lo {
		hi = lo * 10
	}
	a, b := math.Floor(math.Log10(lo)), math.Ceil(math.Log10(hi))
	if b == a {
		b = a + 1
	}
	tlo, thi = math.Pow(10, a), math.Pow(10, b)
	for k := a; k <= b; k++ {
		p := math.Pow(10, k)
		ticks = append(ticks, p)
		if b-a <= 2 && k < b {
			ticks = append(ticks, 2*p, 5*p)
		}
	}
	return ticks, tlo, thi
}

// FormatTick prints a tick value compactly: 0.5, 12, 1e-3.
func FormatTick(v float64) string {
	a := math.Abs(v)
	switch {
	case v == 0:
		return "0"
	case a >= 1e4 || a < 1e-3:
		return fmt.Sprintf("%.0e", v)
	case a >= 10:
		return fmt.Sprintf("%.0f", v)
	}
	s := fmt.Sprintf("%.3f", v)
	for s[len(s)-1] == '0' {
		s = s[:len(s)-1]
	}
	if s[len(s)-1] == '.' {
		s = s[:len(s)-1]
	}
	return s
}
