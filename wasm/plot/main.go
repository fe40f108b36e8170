//go:build js && wasm

// Command plot is the Ebiten page inside the app's <iframe>: it receives training progress from
// the page by postMessage and draws live loss and accuracy curves, then the confusion matrix and
// per-class accuracy. Ebiten lives in an iframe because it always takes over the whole document
// (its own full-page canvas, styles and focus). Labels use text/v2 with the Go fonts; ebitenutil would pull in net/http.
//
// The page sets the language, the theme and the plot's translated texts with an options message.
// Japanese (or any class name the Go font cannot draw) makes the frame fetch a Japanese fallback
// font (build/fonts/plot-cjk.ttf, see font.go), so the English page never downloads it.
package main

import (
	"fmt"
	"log"
	"strconv"
	"sync"
	"syscall/js"
	"time"

	"finetuner/head/progress"
	"finetuner/wasm/jsval"
	"finetuner/wasm/plot/chart"

	"github.com/hajimehoshi/ebiten/v2"
	"github.com/hajimehoshi/ebiten/v2/text/v2"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
)

func main() {
	mark("main")
	src, err := opentype.Parse(goregular.TTF)
	if err != nil {
		log.Fatalf("plot: font: %v", err)
	}
	g := &game{st: chart.NewState(), font: src, goHas: hasGlyph(src), drawn: -1, pal: &chart.Light,
		labels: map[labelKey]*ebiten.Image{}, widths: map[widthKey]float64{}, faces: map[float64]text.Face{},
		miss: map[string][]rune{}, frameMiss: map[rune]bool{}}
	g.listen()

	ebiten.SetWindowTitle("finetuner plot")
	// The host page keeps focus; the plot must still draw.
	ebiten.SetRunnableOnUnfocused(true)
	// Update and draw only on input or when a message changed the state (ScheduleFrame in listen):
	// the plot shares the page's thread and the CPU with the trainer, and sits idle most of the
	// time. The FPS-mode API is deprecated in favour of SetScreenClearedEveryFrame(false), which we
	// also set, but only this mode stops the per-frame update and present of an idle screen.
	ebiten.SetScreenClearedEveryFrame(false)
	ebiten.SetFPSMode(ebiten.FPSModeVsyncOffMinimum) //nolint:staticcheck
	if err := ebiten.RunGame(g); err != nil {
		log.Fatalf("plot: %v", err)
	}
}

// game holds the chart state, which the message callback changes and Draw reads.
type game struct {
	mu sync.Mutex
	st *chart.State

	font      *opentype.Font  // Go Regular
	goHas     func(rune) bool // whether font has a glyph
	cjk       *opentype.Font  // the Japanese fallback, once fetched (font.go)
	cjkHas    func(rune) bool
	fontState fontState
	checked   int                   // state version last checked for the fallback's need
	faces     map[float64]text.Face // by size: Go Regular, then the fallback when loaded
	miss      map[string][]rune     // runes of a drawn string that no loaded font has
	frameMiss map[rune]bool         // such runes drawn in the current frame
	pal       *chart.Palette

	w, h        int     // screen size in device pixels
	scale       float64 // device pixels per CSS pixel
	drawn       int     // state version on screen
	drawnPoints int     // loss points on screen
	dw, dh      int     // size the screen was drawn at
	hover       int     // index of the button under the pointer, -1 for none
	btns        []button
	parent      js.Value
	labels      map[labelKey]*ebiten.Image // rendered text, see label
	widths      map[widthKey]float64       // measured text, see textWidth
	last        time.Time                  // when the screen was last drawn
	vs          []ebiten.Vertex            // stroke buffers, see polyline
	is          []uint16
}

// listen takes progress messages from the parent page. Only the parent may talk to us; under
// file:// the origin is "null", so the check is on event.source.
func (g *game) listen() {
	g.parent = js.Global().Get("parent")
	js.Global().Call("addEventListener", "message", js.FuncOf(func(this js.Value, args []js.Value) any {
		ev := args[0]
		if !ev.Get("source").Equal(g.parent) {
			return nil
		}
		d := ev.Get("data")
		if d.Type() != js.TypeString && !isView(d) {
			return nil
		}
		// A page that started listening after this frame said it was ready asks again.
		if d.Equal(ping) { // compared in JS: a long message is not copied into Go for this
			g.post(`{"type":"plot-ready"}`)
			return nil
		}
		g.receive(d)
		return nil
	}))
	// Same origin, the page's bridge hangs on our <iframe> (js/plot.js): take what it has so far
	// now, so the first frame Ebiten draws already shows the run. Under file:// frameElement is
	// null and the page answers plot-ready instead.
	if fe := js.Global().Get("frameElement"); fe.Truthy() {
		if b := fe.Get("plotBridge"); b.Truthy() && b.Get("attach").Type() == js.TypeFunction {
			msgs := b.Call("attach")
			for i := range msgs.Length() {
				g.receive(msgs.Index(i))
			}
			return
		}
	}
	g.post(`{"type":"plot-ready"}`)
}

// receive applies one message from the page and schedules a frame: a batch of progress events
// as the trainer encoded them (a Float64Array), or JSON text.
func (g *game) receive(d js.Value) {
	m, err := decode(d)
	if err == nil {
		g.mu.Lock()
		err = g.st.ApplyMessage(m)
		g.mu.Unlock()
	}
	ebiten.ScheduleFrame() //nolint:staticcheck
	if err != nil {
		js.Global().Get("console").Call("warn", err.Error())
		g.post(`{"type":"plot-error","error":` + jsonString(err.Error()) + `}`)
	}
}

// ping is the page asking whether the plot is up; the answer is plot-ready.
var ping = js.ValueOf(`{"type":"ping"}`)

// isView tells a typed array from JSON text. It asks ArrayBuffer.isView rather than instanceof:
// the arrays attach hands over were made in the page's realm, whose Float64Array is not ours.
func isView(v js.Value) bool { return js.Global().Get("ArrayBuffer").Call("isView", v).Bool() }

// decode reads one message: progress events with progress.DecodeBytes, JSON text with the
// browser's JSON.parse (see chart.MessageFromJS).
func decode(text js.Value) (m chart.Message, err error) {
	if isView(text) {
		b, err := jsval.ViewBytes(text, "events")
		if err != nil {
			return m, err
		}
		m.Type = "events"
		m.Events, err = progress.DecodeBytes(b)
		return m, err
	}
	v, err := parseJSON(text)
	if err != nil {
		return m, err
	}
	return chart.MessageFromJS(v)
}

func parseJSON(text js.Value) (v js.Value, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("plot: bad message: %v", r)
		}
	}()
	return js.Global().Get("JSON").Call("parse", text), nil
}

func (g *game) post(msg string) {
	if !g.parent.Equal(js.Global()) {
		g.parent.Call("postMessage", msg, "*")
	}
}

func (g *game) Layout(ow, oh int) (int, int) {
	g.scale = ebiten.Monitor().DeviceScaleFactor()
	g.w, g.h = max(1, int(float64(ow)*g.scale)), max(1, int(float64(oh)*g.scale))
	return g.w, g.h
}

func (g *game) Update() error {
	g.mu.Lock()
	defer g.mu.Unlock()
	x, y := ebiten.CursorPosition()
	hover := -1
	for i, b := range g.btns {
		if b.r.Contains(float64(x), float64(y)) {
			hover = i
		}
	}
	if hover != g.hover {
		g.hover = hover
		g.drawn = -1
	}
	if hover >= 0 && clicked() {
		g.btns[hover].act(g)
		g.st.Version++
	}
	if g.checked != g.st.Version {
		g.checked = g.st.Version
		if pal := chart.PaletteFor(g.st.Theme); pal != g.pal {
			g.pal = pal
			g.clearText()
			// The frame's own background (seen while resizing) follows the plot's.
			js.Global().Get("document").Get("documentElement").Get("style").Call("setProperty", "--plot-bg", hex(pal.BG))
		}
		if g.fontState == fontNone && g.st.NeedsFallback(g.goHas) {
			g.loadFont()
		}
	}
	return nil
}

func (g *game) Draw(screen *ebiten.Image) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.drawn == g.st.Version && g.dw == g.w && g.dh == g.h {
		return
	}
	// While training streams in, redraw at most 5 times a second: the frame shares the page's
	// thread, and the curves need no more. A resize or a click redraws at once.
	// The first points of a run are drawn at once.
	if g.dw == g.w && g.dh == g.h && g.drawn >= 0 && g.drawnPoints > 0 && time.Since(g.last) < 200*time.Millisecond {
		// Come back for the change once the interval has passed.
		time.AfterFunc(200*time.Millisecond-time.Since(g.last), ebiten.ScheduleFrame) //nolint:staticcheck
		return
	}
	if g.drawn < 0 {
		mark("firstDraw")
	}
	g.last = time.Now()
	g.drawn, g.dw, g.dh = g.st.Version, g.w, g.h
	t0 := time.Now()
	clear(g.frameMiss)
	g.draw(screen)
	ms := float64(time.Since(t0).Microseconds()) / 1000
	// missing counts the runes drawn as boxes (no glyph in any loaded font): the browser test
	// checks that Japanese is really drawn.
	g.drawnPoints = g.st.StepLoss.Len() + g.st.ValLoss.Len()
	g.post(`{"type":"plot-drawn","version":` + itoa(g.st.Version) + `,"points":` + itoa(g.drawnPoints) +
		`,"ms":` + jsonNumber(ms) + `,"missing":` + itoa(len(g.frameMiss)) + `,"fallback":` + strconv.FormatBool(g.cjk != nil) +
		`,"theme":` + jsonString(g.st.Theme) + `,"at":` + jsonNumber(now()) + `}`)
}

// now is the time in ms since the epoch, to the browser's precision (performance.timeOrigin plus
// performance.now()): comparable across the page and this frame.
func now() float64 {
	p := js.Global().Get("performance")
	return p.Get("timeOrigin").Float() + p.Call("now").Float()
}

// mark notes a start-up time in plot-boot.js's window.plotTiming, in ms since the frame's start.
func mark(name string) {
	if t := js.Global().Get("plotTiming"); t.Truthy() && !t.Get(name).Truthy() {
		t.Set(name, js.Global().Get("Math").Call("round", js.Global().Get("performance").Call("now")))
	}
}

func itoa(n int) string { return jsonNumber(float64(n)) }
