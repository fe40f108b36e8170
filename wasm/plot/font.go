//go:build js && wasm

package main

import (
	"fmt"
	"image/color"
	"syscall/js"
	"time"

	"finetuner/wasm/plot/chart"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
)

// fontURL is the Japanese fallback font, relative to plot.html: a subset of Droid Sans Fallback
// (Apache-2.0) that scripts/web.sh builds with scripts/plot-font.mjs. About 1 MB, so it is fetched
// only when some text needs it.
const fontURL = "build/fonts/plot-cjk.ttf"

type fontState int

const (
	fontNone    fontState = iota // Go Regular only, nothing asked for
	fontLoading                  // fetch in flight
	fontReady                    // g.cjk is set
	fontFailed                   // the fetch or the parse failed; Go Regular only, for good
)

// hasGlyph reports whether f maps a rune to a glyph (glyph 0 is the font's "missing" box).
func hasGlyph(f *opentype.Font) func(rune) bool {
	var buf sfnt.Buffer
	return func(r rune) bool {
		i, err := f.GlyphIndex(&buf, r)
		return err == nil && i != 0
	}
}

// newFace is f at px pixels (points at 72 dpi) as a text/v2 face. The plot's faces are
// golang.org/x/image fonts (text.GoXFace) rather than text.GoTextFace: labels need no complex
// shaping, and leaving go-text's shaper out takes 3.3 MB off plot.wasm (0.56 MB brotli), which
// the page compiles on its own thread.
func newFace(f *opentype.Font, px float64) (text.Face, error) {
	xf, err := opentype.NewFace(f, &opentype.FaceOptions{Size: px, DPI: 72, Hinting: font.HintingNone})
	if err != nil {
		return nil, err
	}
	return text.NewGoXFace(xf), nil
}

// loadFont starts fetching the fallback font; the plot keeps drawing with Go Regular meanwhile
// and redraws when it arrives. Called with g.mu held; the callbacks take it themselves.
func (g *game) loadFont() {
	g.fontState = fontLoading
	t0 := time.Now()
	var onResp, onBuf, onErr js.Func
	release := func() { onResp.Release(); onBuf.Release(); onErr.Release() }
	onResp = js.FuncOf(func(_ js.Value, a []js.Value) any {
		r := a[0]
		if !r.Get("ok").Bool() {
			return js.Global().Get("Promise").Call("reject", js.Global().Get("Error").New(fmt.Sprintf("HTTP %d", r.Get("status").Int())))
		}
		return r.Call("arrayBuffer")
	})
	onBuf = js.FuncOf(func(_ js.Value, a []js.Value) any {
		u8 := js.Global().Get("Uint8Array").New(a[0])
		b := make([]byte, u8.Length())
		js.CopyBytesToGo(b, u8)
		release()
		// Parsing takes a while: not inside a callback, which must not block the page.
		go g.fontArrived(b, t0)
		return nil
	})
	onErr = js.FuncOf(func(_ js.Value, a []js.Value) any {
		release()
		g.fontFailed(a[0].Call("toString").String())
		return nil
	})
	js.Global().Call("fetch", fontURL).Call("then", onResp).Call("then", onBuf).Call("catch", onErr)
}

func (g *game) fontArrived(b []byte, t0 time.Time) {
	src, err := opentype.Parse(b)
	if err != nil {
		g.fontFailed(err.Error())
		return
	}
	g.mu.Lock()
	g.cjk, g.cjkHas, g.fontState = src, hasGlyph(src), fontReady
	g.clearText()
	g.st.Version++
	g.mu.Unlock()
	ebiten.ScheduleFrame() //nolint:staticcheck
	ms := float64(time.Since(t0).Microseconds()) / 1000
	g.post(`{"type":"plot-font","ok":true,"url":` + jsonString(fontURL) + `,"bytes":` + itoa(len(b)) + `,"ms":` + jsonNumber(ms) + `}`)
}

// fontFailed reports a fallback font that could not be had. The plot goes on with Go Regular
// (Japanese shows as boxes) and does not ask again.
func (g *game) fontFailed(why string) {
	g.mu.Lock()
	g.fontState = fontFailed
	g.mu.Unlock()
	msg := fmt.Sprintf("plot: cannot load the Japanese font %s (%s); Japanese text is drawn without it (run ./build.sh web)", fontURL, why)
	js.Global().Get("console").Call("warn", msg)
	g.post(`{"type":"plot-font","ok":false,"url":` + jsonString(fontURL) + `,"error":` + jsonString(why) + `}`)
	g.post(`{"type":"plot-error","error":` + jsonString(msg) + `}`)
}

// face returns the text face of size px: Go Regular, with the fallback behind it once loaded.
func (g *game) face(px float64) text.Face {
	if f, ok := g.faces[px]; ok {
		return f
	}
	f, err := newFace(g.font, px)
	if err != nil {
		// Go Regular at a size the plot computed: unreachable; fall back to its base size.
		f, _ = newFace(g.font, 12)
	}
	if g.cjk != nil {
		if c, err := newFace(g.cjk, px); err == nil {
			if m, err := text.NewMultiFace(f, c); err == nil {
				f = m
			}
		}
	}
	if len(g.faces) > 64 {
		clear(g.faces)
	}
	g.faces[px] = f
	return f
}

// clearText drops everything rendered or measured with the old fonts or colours.
func (g *game) clearText() {
	for k, v := range g.labels {
		v.Deallocate()
		delete(g.labels, k)
	}
	clear(g.widths)
	clear(g.faces)
	clear(g.miss)
}

// noteMissing records the runes of s that no loaded font draws, for the plot-drawn message.
func (g *game) noteMissing(s string) {
	m, ok := g.miss[s]
	if !ok {
		has := g.goHas
		if g.cjk != nil {
			has = func(r rune) bool { return g.goHas(r) || g.cjkHas(r) }
		}
		m = chart.Missing(has, s)
		if len(g.miss) > 4000 {
			clear(g.miss)
		}
		g.miss[s] = m
	}
	for _, r := range m {
		g.frameMiss[r] = true
	}
}

func hex(c color.RGBA) string { return fmt.Sprintf("#%02x%02x%02x", c.R, c.G, c.B) }
