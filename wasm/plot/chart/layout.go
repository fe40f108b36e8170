package chart

import (
	"fmt"
	"math"
	"strconv"
)

// This file is the plot's geometry and text, everything of a frame but the pixels: which view
// shows, where each panel goes, the status line, the axes of a curve panel and the mapping from
// data to screen. wasm/plot draws what these return with Ebiten; the tests check them natively.

// Rect is an axis-aligned rectangle in device pixels: top-left corner (X, Y), size W×H.
type Rect struct{ X, Y, W, H float64 }

// Contains reports whether (x, y) lies inside r.
func (r Rect) Contains(x, y float64) bool { return x >= r.X && y >= r.Y && x < r.X+r.W && y < r.Y+r.H }

// Panel kinds.
const (
	PanelLoss      = "loss"
	PanelAcc       = "acc"
	PanelConfusion = "confusion"
	PanelPerClass  = "perClass"
)

// Panel is one part of the body: its kind and where it goes.
type Panel struct {
	Kind string
	R    Rect
}

// ShownView is the view on screen: the chosen one, or by default the curves, then the
// evaluation once a finished run has its report.
func (s *State) ShownView() string {
	if s.View != "" {
		return s.View
	}
	if s.HasReport && s.Done {
		return "eval"
	}
	return "curves"
}

// Big reports whether a screen of w×h device pixels at scale device pixels per CSS pixel is big
// enough to show the curves and the evaluation together (and so needs no view tabs).
func Big(w, h, scale float64) bool { return w/scale >= 900 && h/scale >= 520 }

// Panels places the panels of the body: on a big screen the two curve panels above the two
// evaluation panels; otherwise the two panels of view side by side on a wide body, stacked on a
// tall one. gap separates them.
func Panels(body Rect, gap float64, big bool, view string) []Panel {
	split := func(r Rect) (Rect, Rect) {
		if r.W > r.H*1.25 {
			hw := (r.W - gap) / 2
			return Rect{r.X, r.Y, hw, r.H}, Rect{r.X + hw + gap, r.Y, hw, r.H}
		}
		hh := (r.H - gap) / 2
		return Rect{r.X, r.Y, r.W, hh}, Rect{r.X, r.Y + hh + gap, r.W, hh}
	}
	switch {
	case big:
		top := Rect{body.X, body.Y, body.W, (body.H - gap) * 0.55}
		bot := Rect{body.X, top.Y + top.H + gap, body.W, body.H - top.H - gap}
		a, b := split(top)
		hw := (bot.W - gap) / 2
		return []Panel{{PanelLoss, a}, {PanelAcc, b},
			{PanelConfusion, Rect{bot.X, bot.Y, hw, bot.H}}, {PanelPerClass, Rect{bot.X + hw + gap, bot.Y, hw, bot.H}}}
	case view == "eval":
		a, b := split(body)
		return []Panel{{PanelConfusion, a}, {PanelPerClass, b}}
	default:
		a, b := split(body)
		return []Panel{{PanelLoss, a}, {PanelAcc, b}}
	}
}

// XName is the key of the x axis's name: "epoch", or "iteration" for the automatic probe.
func (s *State) XName() string {
	if s.XLabel == "" {
		return "epoch"
	}
	return s.XLabel
}

// Status is the header's one-line summary of the run, in the page's language.
func (s *State) Status() string {
	n := s.ValLoss.Len()
	switch {
	case n == 0 && s.StepLoss.Len() == 0:
		return s.T("waiting")
	case n == 0:
		return fmt.Sprintf("%s %.3f", s.T("loss"), s.StepLoss.Y[s.StepLoss.Len()-1])
	}
	out := fmt.Sprintf("%s %d", s.T(s.XName()), int(s.ValLoss.X[n-1]))
	if s.Epochs > 0 {
		out += fmt.Sprintf("/%d", s.Epochs)
	}
	out += fmt.Sprintf(" · %s %.3f · %s %.1f%%", s.T("valLoss"), s.ValLoss.Y[n-1], s.T("valAcc"), 100*s.ValAcc.Y[s.ValAcc.Len()-1])
	if s.Done {
		out += " · " + s.T("done")
	}
	return out
}

// YAxis picks the y range and ticks of a curve panel for the curves ys: [0, 1] in quarters for
// a unit (accuracy) panel, decades on a log scale, otherwise nice ticks from 0 (or the lowest
// value, if negative) up.
func YAxis(unit, logY bool, ys ...[]float64) (ticks []float64, lo, hi float64) {
	switch {
	case unit:
		return []float64{0, 0.25, 0.5, 0.75, 1}, 0, 1
	case logY:
		l, h, _ := Range(true, ys...)
		return LogTicks(l, h)
	default:
		l, h, ok := Range(false, ys...)
		if !ok {
			l, h = 0, 1
		}
		return NiceTicks(math.Min(0, l), h, 5)
	}
}

// TickLabel is a y tick's text: a percentage on a unit axis.
func TickLabel(t float64, percent bool) string {
	if percent {
		return strconv.Itoa(int(math.Round(t*100))) + "%"
	}
	return FormatTick(t)
}

// XMap maps x in [0, xmax] onto plot's width.
func XMap(plot Rect, xmax float64) func(float64) float64 {
	return func(x float64) float64 { return plot.X + x/xmax*plot.W }
}

// YMap maps y in [lo, hi] onto plot's height, upwards, on a log scale when logY (values below lo
// sit on the bottom edge).
func YMap(plot Rect, lo, hi float64, logY bool) func(float64) float64 {
	if logY {
		return func(y float64) float64 {
			y = math.Max(y, lo)
			return plot.Y + plot.H - (math.Log(y)-math.Log(lo))/(math.Log(hi)-math.Log(lo))*plot.H
		}
	}
	return func(y float64) float64 { return plot.Y + plot.H - (y-lo)/(hi-lo)*plot.H }
}

// RowShares returns each entry of a confusion row as a share of the row's total (0 for an empty
// row): the heatmap's colour scale, so that every true class reads on its own.
func RowShares(row []int) []float64 {
	total := 0
	for _, v := range row {
		total += v
	}
	out := make([]float64, len(row))
	for j, v := range row {
		if total > 0 {
			out[j] = float64(v) / float64(total)
		}
	}
	return out
}
