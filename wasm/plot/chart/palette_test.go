package chart

import (
	"image/color"
	"testing"
)

// TestPaletteContrast holds both themes to WCAG ratios against their own background: 4.5 for text,
// 3 for curves, bars and the text on buttons and confusion cells. The per-step loss line is faint
// on purpose and only has to show (1.5).
func TestPaletteContrast(t *testing.T) {
	for name, p := range map[string]*Palette{"light": PaletteFor("light"), "dark": PaletteFor("dark")} {
		check := func(what string, fg, bg color.RGBA, min float64) {
			if c := Contrast(fg, bg); c < min {
				t.Errorf("%s: %s contrast %.2f, want ≥ %.1f", name, what, c, min)
			}
		}
		check("text", p.Text, p.BG, 4.5)
		check("muted text", p.Muted, p.BG, 4.5)
		for what, c := range map[string]color.RGBA{"train": p.Train, "val": p.Val, "acc": p.Acc, "train acc": p.TrainAcc} {
			check(what+" curve", c, p.BG, 3)
		}
		check("step line", p.TrainRaw, p.BG, 1.5)
		check("accuracy bar on its track", p.Acc, p.Grid, 2.5)
		check("grid", p.Grid, p.BG, 1.15)
		for what, b := range map[string]color.RGBA{"button": p.Btn, "button on": p.BtnOn, "button hover": p.BtnHover} {
			check("text on "+what, p.Text, b, 4.5)
		}
		for _, diag := range []bool{true, false} {
			for f := 0.0; f <= 1; f += 0.05 {
				c := p.Heat(f, diag)
				check("count on a confusion cell", p.On(c), c, 3)
			}
		}
	}
	if PaletteFor("dark").BG == PaletteFor("light").BG || PaletteFor("") != &Light {
		t.Error("the themes share a background, or no theme is not light")
	}
	if Contrast(rgb(0xffffff), rgb(0x000000)) < 20.9 || Contrast(rgb(0x777777), rgb(0x777777)) != 1 {
		t.Error("Contrast is not the WCAG ratio")
	}
	if h := Light.Heat(0, true); h != Light.HeatLo {
		t.Errorf("Heat(0) = %v, want HeatLo", h)
	}
	if h := Dark.Heat(1, false); h != Dark.HeatOff {
		t.Errorf("Heat(1, off) = %v, want HeatOff", h)
	}
}
