//go:build !js

package main

import (
	"fmt"
	"image/color"
	"os"
	"strconv"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

var engineColor = map[string]color.Color{
	"ours":      color.RGBA{R: 0x1b, G: 0x9e, B: 0x77, A: 0xff},
	"tfjs-wasm": color.RGBA{R: 0xd9, G: 0x5f, B: 0x02, A: 0xff},
	"tfjs-cpu":  color.RGBA{R: 0x75, G: 0x70, B: 0xb3, A: 0xff},
}

// plainTicks are gonum's default ticks labelled without trailing zeros ("7500", not "7500.00").
type plainTicks struct{}

func (plainTicks) Ticks(min, max float64) []plot.Tick {
	t := plot.DefaultTicks{}.Ticks(min, max)
	for i := range t {
		if t[i].Label != "" {
			t[i].Label = strconv.FormatFloat(t[i].Value, 'g', -1, 64)
		}
	}
	return t
}

// plotHeads draws one panel per workload (each with its own scale: W1 and W4 differ by 100×):
// median ms/epoch of each engine as a bar, the fastest run as a tick inside it.
func plotHeads(path string, heads []HeadResult) error {
	engines := []string{"ours", "tfjs-wasm", "tfjs-cpu"}
	row := make([]*plot.Plot, 0, len(heads))
	for _, h := range heads {
		p := plot.New()
		p.Title.Text = h.Workload.Name
		if h.Workload.Name != "" {
			p.Title.Text = fmt.Sprintf("%s (N=%d, D=%d)", h.Workload.Name, h.Workload.N, h.Workload.D)
		}
		p.Y.Label.Text = "ms per epoch (median of runs)"
		p.Y.Min = 0
		p.Y.Tick.Marker = plainTicks{}
		var names []string
		for _, e := range engines {
			s, ok := h.Summary[e]
			if !ok {
				continue
			}
			bars, err := plotter.NewBarChart(plotter.Values{s.Median}, vg.Points(28))
			if err != nil {
				return err
			}
			bars.Color = engineColor[e]
			bars.LineStyle.Width = 0
			x := float64(len(names))
			bars.XMin = x
			p.Add(bars)
			mins, err := plotter.NewScatter(plotter.XYs{{X: x, Y: s.Min}})
			if err != nil {
				return err
			}
			mins.GlyphStyle.Shape = draw.BoxGlyph{}
			mins.GlyphStyle.Radius = vg.Points(2)
			mins.GlyphStyle.Color = color.Black
			p.Add(mins)
			label := e
			if e != "ours" && h.Summary["ours"].Median > 0 {
				label = fmt.Sprintf("%s\n%.1f× ours", e, s.Median/h.Summary["ours"].Median)
			}
			names = append(names, label)
		}
		p.NominalX(names...)
		p.X.Min, p.X.Max = -0.6, float64(len(names))-0.4
		row = append(row, p)
	}
	const panelW, height = 4.2 * vg.Inch, 4 * vg.Inch
	img := vgimg.New(panelW*vg.Length(len(row)), height)
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(row), PadX: vg.Millimeter * 4, PadY: vg.Millimeter * 3,
		PadTop: vg.Millimeter * 3, PadBottom: vg.Millimeter * 3, PadLeft: vg.Millimeter * 3, PadRight: vg.Millimeter * 3}
	canvases := plot.Align([][]*plot.Plot{row}, tiles, dc)
	for j, p := range row {
		p.Draw(canvases[0][j])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
