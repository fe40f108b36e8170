//go:build js && wasm

package main

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"strconv"
	"syscall/js"

	"finetuner/wasm/plot/chart"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/inpututil"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"github.com/hajimehoshi/ebiten/v2/vector"
)

// rect is chart's rectangle; the drawing below works in device pixels, as chart's layout does.
type rect = chart.Rect

func imageRect(r rect) image.Rectangle {
	return image.Rect(int(r.X), int(r.Y), int(math.Ceil(r.X+r.W)), int(math.Ceil(r.Y+r.H)))
}

type button struct {
	r     rect
	label string
	on    bool
	act   func(g *game)
}

func clicked() bool {
	if inpututil.IsMouseButtonJustPressed(ebiten.MouseButtonLeft) {
		return true
	}
	return len(inpututil.AppendJustPressedTouchIDs(nil)) > 0
}

// fontPx is the base text size in device pixels: readable at 320 CSS px wide, not huge full screen.
func (g *game) fontPx() float64 {
	css := math.Min(float64(g.w), float64(g.h)*1.6) / g.scale
	return math.Max(10, math.Min(15, css/30)) * g.scale
}

// label draws s with its anchor at (x,y); ax, ay are 0 (start), 0.5 (centre) or 1 (end).
// Shaping text is the slowest part of a redraw under wasm, and the same tick labels come back
// frame after frame, so each (string, size, colour) is rendered once into an image and reused.
// Text that changes every frame goes through labelOnce instead, so it does not fill the cache.
func (g *game) label(dst *ebiten.Image, s string, x, y, px float64, c color.Color, ax, ay float64) {
	if s == "" {
		return
	}
	g.noteMissing(s)
	r, gg, b, a := c.RGBA()
	key := labelKey{s, px, r<<16 ^ gg<<8 ^ b ^ a<<24}
	img, ok := g.labels[key]
	if !ok {
		w, h := text.Measure(s, g.face(px), 0)
		img = ebiten.NewImage(int(math.Ceil(w))+2, int(math.Ceil(h))+2)
		op := &text.DrawOptions{}
		op.GeoM.Translate(1, 1)
		op.ColorScale.ScaleWithColor(c)
		text.Draw(img, s, g.face(px), op)
		if len(g.labels) > 2000 {
			for k, v := range g.labels {
				v.Deallocate()
				delete(g.labels, k)
			}
		}
		g.labels[key] = img
	}
	sz := img.Bounds().Size()
	op := &ebiten.DrawImageOptions{}
	op.GeoM.Translate(math.Round(x-ax*float64(sz.X-2)-1), math.Round(y-ay*float64(sz.Y-2)-1))
	dst.DrawImage(img, op)
}

type labelKey struct {
	s   string
	px  float64
	rgb uint32
}

// labelOnce draws s without caching it.
func (g *game) labelOnce(dst *ebiten.Image, s string, x, y, px float64, c color.Color, ax, ay float64) {
	g.noteMissing(s)
	op := &text.DrawOptions{}
	op.PrimaryAlign = align(ax)
	op.SecondaryAlign = align(ay)
	op.GeoM.Translate(x, y)
	op.ColorScale.ScaleWithColor(c)
	text.Draw(dst, s, g.face(px), op)
}

func align(a float64) text.Align {
	switch {
	case a <= 0:
		return text.AlignStart
	case a >= 1:
		return text.AlignEnd
	}
	return text.AlignCenter
}

// textWidth measures s, remembering the answer: measuring shapes the text, which costs as much
// as drawing it.
func (g *game) textWidth(s string, px float64) float64 {
	k := widthKey{s, px}
	if w, ok := g.widths[k]; ok {
		return w
	}
	w, _ := text.Measure(s, g.face(px), 0)
	if len(g.widths) > 4000 {
		clear(g.widths)
	}
	g.widths[k] = w
	return w
}

type widthKey struct {
	s  string
	px float64
}

// fit shortens s with an ellipsis until it is at most w wide (binary search on the length).
func (g *game) fit(s string, px, w float64) string {
	if g.textWidth(s, px) <= w {
		return s
	}
	r := []rune(s)
	lo, hi := 0, len(r) // r[:lo]+"…" fits (or lo is 0), r[:hi]+"…" does not
	for hi-lo > 1 {
		mid := (lo + hi) / 2
		if g.textWidth(string(r[:mid])+"…", px) <= w {
			lo = mid
		} else {
			hi = mid
		}
	}
	if lo == 0 {
		return ""
	}
	return string(r[:lo]) + "…"
}

func (g *game) draw(dst *ebiten.Image) {
	p := g.pal
	dst.Fill(p.BG)
	st := g.st
	fp := g.fontPx()
	pad := fp * 0.6
	W, H := float64(g.w), float64(g.h)

	// Header: view tabs, log toggle, a one-line status.
	g.btns = g.btns[:0]
	bh := fp * 1.8
	x := pad
	view := st.ShownView()
	big := chart.Big(W, H, g.scale)
	if !big {
		x = g.addButton(dst, x, pad, bh, fp, st.T("curves"), view == "curves", func(g *game) { g.st.View = "curves" })
		x = g.addButton(dst, x, pad, bh, fp, st.T("eval"), view == "eval", func(g *game) { g.st.View = "eval" })
	}
	x = g.addButton(dst, x, pad, bh, fp, st.T("logY"), st.LogScale, func(g *game) {
		g.st.LogScale = !g.st.LogScale
		g.post(fmt.Sprintf(`{"type":"plot-options","logScale":%v}`, g.st.LogScale))
	})
	g.labelOnce(dst, g.fit(st.Status(), fp, W-x-pad), W-pad, pad+bh/2, fp, p.Muted, 1, 0.5)

	body := rect{X: pad, Y: pad + bh + pad, W: W - 2*pad, H: H - 2*pad - bh - pad}
	if body.W < 40 || body.H < 40 {
		return
	}
	for _, pn := range chart.Panels(body, fp, big, view) {
		switch pn.Kind {
		case chart.PanelLoss:
			g.lossPanel(dst, pn.R, fp)
		case chart.PanelAcc:
			g.accPanel(dst, pn.R, fp)
		case chart.PanelConfusion:
			g.confusionPanel(dst, pn.R, fp)
		case chart.PanelPerClass:
			g.perClassPanel(dst, pn.R, fp)
		}
	}
}

func (g *game) addButton(dst *ebiten.Image, x, y, h, fp float64, label string, on bool, act func(*game)) float64 {
	w := g.textWidth(label, fp) + fp*1.2
	r := rect{X: x, Y: y, W: w, H: h}
	p := g.pal
	c := p.Btn
	if on {
		c = p.BtnOn
	} else if g.hover == len(g.btns) {
		c = p.BtnHover
	}
	fillRect(dst, r.X, r.Y, r.W, r.H, c)
	strokeRect(dst, r.X, r.Y, r.W, r.H, g.scale, p.Axis)
	g.label(dst, label, r.X+r.W/2, r.Y+r.H/2, fp, p.Text, 0.5, 0.5)
	g.btns = append(g.btns, button{r: r, label: label, on: on, act: act})
	return x + w + fp*0.4
}

// curve is one line of a panel.
type curve struct {
	name  string // legend text; "" for none
	s     *chart.Series
	ys    []float64 // overrides s.Y (smoothed)
	c     color.Color
	width float64
}

func (g *game) lossPanel(dst *ebiten.Image, r rect, fp float64) {
	st, p := g.st, g.pal
	cs := []curve{
		{"", &st.StepLoss, nil, p.TrainRaw, 1},
		{st.T("trainSmoothed"), &st.StepLoss, chart.Smoothed(st.StepLoss.Y, st.Smooth), p.Train, 2},
		{st.T("val"), &st.ValLoss, nil, p.Val, 2},
	}
	if st.StepLoss.Len() == 0 {
		cs[1] = curve{st.T("train"), &st.TrainLoss, nil, p.Train, 2}
	}
	g.curvePanel(dst, r, fp, st.T("lossTitle"), cs, st.LogScale, false)
}

func (g *game) accPanel(dst *ebiten.Image, r rect, fp float64) {
	st, p := g.st, g.pal
	cs := []curve{{st.T("val"), &st.ValAcc, nil, p.Acc, 2}}
	if st.TrainAcc.Len() > 0 {
		cs = append([]curve{{st.T("train"), &st.TrainAcc, nil, p.TrainAcc, 2}}, cs...)
	}
	g.curvePanel(dst, r, fp, st.T("accTitle"), cs, false, true)
}

// curvePanel draws axes, ticks, grid, legend and the curves against epoch.
func (g *game) curvePanel(dst *ebiten.Image, r rect, fp float64, title string, cs []curve, logY, unit bool) {
	small := fp * 0.85
	p := g.pal
	g.label(dst, title, r.X, r.Y, fp, p.Text, 0, 0)
	// Legend on the title line, right-aligned.
	lx := r.X + r.W
	for i := len(cs) - 1; i >= 0; i-- {
		c := cs[i]
		if c.name == "" {
			continue
		}
		g.label(dst, c.name, lx, r.Y+fp*0.6, small, p.Muted, 1, 0.5)
		lx -= g.textWidth(c.name, small) + small*0.4
		hline(dst, lx-small*1.4, lx, r.Y+fp*0.6, 2*g.scale, c.c)
		lx -= small * 2.2
	}

	var all [][]float64
	for _, c := range cs {
		all = append(all, yvals(c))
	}
	ticks, lo, hi := chart.YAxis(unit, logY, all...)
	maxLabel := 0.0
	for _, t := range ticks {
		maxLabel = math.Max(maxLabel, g.textWidth(chart.TickLabel(t, unit), small))
	}
	plot := rect{X: r.X + maxLabel + small*0.6, Y: r.Y + fp*1.6}
	plot.W = r.X + r.W - plot.X - small*0.5
	plot.H = r.Y + r.H - plot.Y - small*2.6
	if plot.W < 20 || plot.H < 20 {
		return
	}
	xmax := g.st.XMax()
	xticks, _, xhi := chart.NiceTicks(0, xmax, int(math.Max(2, math.Min(8, plot.W/(small*5)))))
	if xhi > xmax {
		xmax = xhi
	}
	tx, ty := chart.XMap(plot, xmax), chart.YMap(plot, lo, hi, logY)
	lw := g.scale
	for _, t := range ticks {
		y := ty(t)
		hline(dst, plot.X, plot.X+plot.W, y, lw, p.Grid)
		g.label(dst, chart.TickLabel(t, unit), plot.X-small*0.4, y, small, p.Muted, 1, 0.5)
	}
	for _, t := range xticks {
		if t > xmax+1e-9 {
			continue
		}
		x := tx(t)
		vline(dst, x, plot.Y+plot.H, plot.Y+plot.H+small*0.3, lw, p.Axis)
		g.label(dst, chart.FormatTick(t), x, plot.Y+plot.H+small*0.4, small, p.Muted, 0.5, 0)
	}
	g.label(dst, g.st.T(g.st.XName()), plot.X+plot.W, plot.Y+plot.H+small*1.5, small, p.Muted, 1, 0)
	vline(dst, plot.X, plot.Y, plot.Y+plot.H, lw, p.Axis)
	hline(dst, plot.X, plot.X+plot.W, plot.Y+plot.H, lw, p.Axis)

	clip := dst.SubImage(imageRect(plot)).(*ebiten.Image)
	empty := true
	for _, c := range cs {
		ys := yvals(c)
		if len(ys) == 0 {
			continue
		}
		empty = false
		g.polyline(clip, c.s.X, ys, tx, ty, c.width*g.scale, c.c)
	}
	if empty {
		g.label(dst, g.st.T("noData"), plot.X+plot.W/2, plot.Y+plot.H/2, small, p.Muted, 0.5, 0.5)
	}
}

func yvals(c curve) []float64 {
	if c.ys != nil {
		return c.ys
	}
	return c.s.Y
}

// fillRect and the line helpers draw axis-aligned shapes as one scaled pixel: no path
// tessellation, and Ebiten batches them into few draw calls. Most of a redraw is such shapes.
func fillRect(dst *ebiten.Image, x, y, w, h float64, c color.Color) {
	if w <= 0 || h <= 0 {
		return
	}
	op := &ebiten.DrawImageOptions{}
	op.GeoM.Scale(w, h)
	op.GeoM.Translate(x, y)
	op.ColorScale.ScaleWithColor(c)
	dst.DrawImage(whitePixel, op)
}

func hline(dst *ebiten.Image, x0, x1, y, width float64, c color.Color) {
	fillRect(dst, x0, y-width/2, x1-x0, width, c)
}

func vline(dst *ebiten.Image, x, y0, y1, width float64, c color.Color) {
	fillRect(dst, x-width/2, y0, width, y1-y0, c)
}

func strokeRect(dst *ebiten.Image, x, y, w, h, width float64, c color.Color) {
	hline(dst, x, x+w, y, width, c)
	hline(dst, x, x+w, y+h, width, c)
	vline(dst, x, y, y+h, width, c)
	vline(dst, x+w, y, y+h, width, c)
}

var whitePixel = func() *ebiten.Image {
	img := ebiten.NewImage(3, 3)
	img.Fill(color.White)
	return img.SubImage(image.Rect(1, 1, 2, 2)).(*ebiten.Image)
}()

// polyline strokes the points as one path, thinned to about two points per pixel so that long
// runs of per-step losses stay cheap to draw. A single point is drawn as a dot.
func (g *game) polyline(dst *ebiten.Image, xs, ys []float64, tx, ty func(float64) float64, width float64, c color.Color) {
	n := len(ys)
	if n == 1 {
		vector.DrawFilledCircle(dst, float32(tx(xs[0])), float32(ty(ys[0])), float32(width*1.5), c, true)
		return
	}
	stride := max(1, n/(2*max(1, dst.Bounds().Dx())))
	var p vector.Path
	p.MoveTo(float32(tx(xs[0])), float32(ty(ys[0])))
	for i := stride; i < n; i += stride {
		p.LineTo(float32(tx(xs[i])), float32(ty(ys[i])))
	}
	if (n-1)%stride != 0 {
		p.LineTo(float32(tx(xs[n-1])), float32(ty(ys[n-1])))
	}
	vs, is := p.AppendVerticesAndIndicesForStroke(g.vs[:0], g.is[:0], &vector.StrokeOptions{
		Width: float32(width), LineJoin: vector.LineJoinRound, LineCap: vector.LineCapRound,
	})
	r, gg, b, a := c.RGBA()
	for i := range vs {
		vs[i].SrcX, vs[i].SrcY = 1, 1
		vs[i].ColorR, vs[i].ColorG, vs[i].ColorB, vs[i].ColorA = float32(r)/0xffff, float32(gg)/0xffff, float32(b)/0xffff, float32(a)/0xffff
	}
	dst.DrawTriangles(vs, is, whitePixel, &ebiten.DrawTrianglesOptions{AntiAlias: true})
	g.vs, g.is = vs, is // reused by the next curve: no garbage per redraw
}

// confusionPanel draws the confusion matrix as a heatmap, each row normalised by its true count.
func (g *game) confusionPanel(dst *ebiten.Image, r rect, fp float64) {
	st, p := g.st, g.pal
	small := fp * 0.85
	title := st.T("confusion")
	if st.HasReport {
		title += fmt.Sprintf(" · %s %.1f%%", st.T("valAcc"), 100*st.FinalAcc)
	}
	g.label(dst, g.fit(title, fp, r.W), r.X, r.Y, fp, p.Text, 0, 0)
	n := len(st.Confusion)
	if n == 0 {
		g.label(dst, st.T("afterTraining"), r.X+r.W/2, r.Y+r.H/2, small, p.Muted, 0.5, 0.5)
		return
	}
	labelW := 0.0
	showLabels := true
	top := r.Y + fp*1.6
	side := math.Min(r.W, r.H-(top-r.Y))
	for _, l := range st.Labels {
		labelW = math.Max(labelW, g.textWidth(l, small))
	}
	labelW = math.Min(labelW, side*0.3) + small*0.5
	cell := (side - labelW - small*1.6) / float64(n)
	if cell < small*0.9 {
		showLabels = false
		labelW = small * 1.6
		cell = (side - labelW - small*1.6) / float64(n)
	}
	if cell < 1 {
		return
	}
	ox, oy := r.X+labelW+small*1.2, top
	for i, row := range st.Confusion {
		shares := chart.RowShares(row)
		for j, v := range row {
			c := p.Heat(shares[j], i == j)
			x, y := ox+float64(j)*cell, oy+float64(i)*cell
			fillRect(dst, x, y, cell, cell, c)
			if cell >= small*1.8 && v > 0 {
				g.label(dst, strconv.Itoa(v), x+cell/2, y+cell/2, math.Min(small, cell*0.45), p.On(c), 0.5, 0.5)
			}
		}
		if showLabels {
			g.label(dst, g.fit(st.Labels[i], small, labelW-small*0.3), ox-small*0.3, oy+(float64(i)+0.5)*cell, small, p.Text, 1, 0.5)
		}
	}
	strokeRect(dst, ox, oy, cell*float64(n), cell*float64(n), g.scale, p.Axis)
	g.label(dst, st.T("predicted"), ox+cell*float64(n)/2, oy+cell*float64(n)+small*0.3, small, p.Muted, 0.5, 0)
	op := &text.DrawOptions{}
	op.PrimaryAlign, op.SecondaryAlign = text.AlignCenter, text.AlignEnd
	op.GeoM.Rotate(-math.Pi / 2)
	op.GeoM.Translate(r.X+small*0.1, oy+cell*float64(n)/2)
	op.GeoM.Translate(small*1.1, 0)
	op.ColorScale.ScaleWithColor(p.Muted)
	g.noteMissing(st.T("true"))
	text.Draw(dst, st.T("true"), g.face(small), op)
}

// perClassPanel draws one horizontal bar per class: its validation accuracy (recall).
func (g *game) perClassPanel(dst *ebiten.Image, r rect, fp float64) {
	st, p := g.st, g.pal
	small := fp * 0.85
	g.label(dst, st.T("perClass"), r.X, r.Y, fp, p.Text, 0, 0)
	n := len(st.PerClass)
	if n == 0 {
		g.label(dst, st.T("afterTraining"), r.X+r.W/2, r.Y+r.H/2, small, p.Muted, 0.5, 0.5)
		return
	}
	top := r.Y + fp*1.6
	rowH := (r.Y + r.H - top) / float64(n)
	labelW := math.Min(r.W*0.35, small*9)
	pctW := g.textWidth("100%", small) + small*0.5
	barX, barW := r.X+labelW+small*0.4, r.W-labelW-small*0.4-pctW
	showText := rowH >= small*1.1
	for i, m := range st.PerClass {
		y := top + float64(i)*rowH
		bh := math.Max(1, math.Min(rowH*0.7, small*1.4))
		by := y + (rowH-bh)/2
		fillRect(dst, barX, by, barW, bh, p.Grid)
		fillRect(dst, barX, by, barW*clamp01(m.Accuracy), bh, p.Acc)
		if showText {
			name := ""
			if i < len(st.Labels) {
				name = st.Labels[i]
			}
			g.label(dst, g.fit(name, small, labelW), barX-small*0.4, y+rowH/2, small, p.Text, 1, 0.5)
			g.label(dst, fmt.Sprintf("%.0f%%", 100*m.Accuracy), r.X+r.W, y+rowH/2, small, p.Muted, 1, 0.5)
		}
	}
}

func clamp01(v float64) float64 { return math.Max(0, math.Min(1, v)) }

// jsonString is s as a JSON string literal.
func jsonString(s string) string {
	return js.Global().Get("JSON").Call("stringify", s).String()
}

func jsonNumber(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
