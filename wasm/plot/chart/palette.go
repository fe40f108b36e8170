package chart

import (
	"image/color"
	"math"
)

// Palette is every colour the plot draws with. Light matches the app's page, Dark the docs embed's
// and the kiosk's dark pages; the tests hold both to WCAG contrast ratios against their background.
type Palette struct {
	BG, Grid, Axis, Text, Muted color.RGBA
	Train, TrainRaw, Val        color.RGBA // loss curves; TrainRaw is the faint per-step line
	Acc, TrainAcc               color.RGBA // accuracy curves and bars
	Btn, BtnOn, BtnHover        color.RGBA
	HeatLo, HeatDiag, HeatOff   color.RGBA // confusion cells: empty, all correct, all wrong
}

// Light is the palette on a white page.
var Light = Palette{
	BG:       rgb(0xffffff),
	Grid:     rgb(0xe5e7eb),
	Axis:     rgb(0x9ca3af),
	Text:     rgb(0x1f2937),
	Muted:    rgb(0x6b7280),
	Train:    rgb(0x2563eb),
	TrainRaw: rgb(0x93c5fd),
	Val:      rgb(0xea580c),
	Acc:      rgb(0x16a34a),
	TrainAcc: rgb(0x7c3aed),
	Btn:      rgb(0xf3f4f6),
	BtnOn:    rgb(0xdbeafe),
	BtnHover: rgb(0xe5e7eb),
	HeatLo:   rgb(0xf8fafc),
	HeatDiag: rgb(0x1d4ed8),
	HeatOff:  rgb(0xdc2626),
}

// Dark is the palette on a dark page (background #111827, the docs embed's dark background): the
// curves are the lighter 400 shades of the light theme's hues.
var Dark = Palette{
	BG:       rgb(0x111827),
	Grid:     rgb(0x2b3545),
	Axis:     rgb(0x6b7280),
	Text:     rgb(0xe5e7eb),
	Muted:    rgb(0x9ca3af),
	Train:    rgb(0x60a5fa),
	TrainRaw: rgb(0x2f4f86),
	Val:      rgb(0xfb923c),
	Acc:      rgb(0x4ade80),
	TrainAcc: rgb(0xa78bfa),
	Btn:      rgb(0x1f2937),
	BtnOn:    rgb(0x1e3a8a),
	BtnHover: rgb(0x374151),
	HeatLo:   rgb(0x1f2937),
	HeatDiag: rgb(0x3b82f6),
	HeatOff:  rgb(0xef4444),
}

// PaletteFor returns the palette of a theme ("dark", else light).
func PaletteFor(theme string) *Palette {
	if theme == "dark" {
		return &Dark
	}
	return &Light
}

// Heat maps a row fraction f in [0,1] to a confusion cell's colour: towards HeatDiag on the
// diagonal (correct), towards HeatOff off it (errors).
func (p *Palette) Heat(f float64, diag bool) color.RGBA {
	to := p.HeatOff
	if diag {
		to = p.HeatDiag
	}
	f = math.Max(0, math.Min(1, f))
	lerp := func(a, b uint8) uint8 { return uint8(math.Round(float64(a) + (float64(b)-float64(a))*f)) }
	return color.RGBA{lerp(p.HeatLo.R, to.R), lerp(p.HeatLo.G, to.G), lerp(p.HeatLo.B, to.B), 0xff}
}

// On returns the text colour to write on c: Text or BG, whichever contrasts more with it.
func (p *Palette) On(c color.RGBA) color.RGBA {
	if Contrast(p.Text, c) >= Contrast(p.BG, c) {
		return p.Text
	}
	return p.BG
}

// Contrast is the WCAG 2 contrast ratio of two opaque colours, from 1 (same) to 21.
func Contrast(a, b color.RGBA) float64 {
	la, lb := luminance(a), luminance(b)
	if la < lb {
		la, lb = lb, la
	}
	return (la + 0.05) / (lb + 0.05)
}

func luminance(c color.RGBA) float64 {
	ch := func(v uint8) float64 {
		s := float64(v) / 255
		if s <= 0.04045 {
			return s / 12.92
		}
		return math.Pow((s+0.055)/1.055, 2.4)
	}
	return 0.2126*ch(c.R) + 0.7152*ch(c.G) + 0.0722*ch(c.B)
}

func rgb(v uint32) color.RGBA { return color.RGBA{uint8(v >> 16), uint8(v >> 8), uint8(v), 0xff} }
