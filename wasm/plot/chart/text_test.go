package chart

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/font/gofont/goregular"
)

// i18nTable reads public/i18n/<lang>.json's plot.* entries, without the prefix.
func i18nTable(t *testing.T, lang string) map[string]string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "..", "public", "i18n", lang+".json"))
	if err != nil {
		t.Fatal(err)
	}
	var all map[string]string
	if err := json.Unmarshal(b, &all); err != nil {
		t.Fatalf("%s.json: %v", lang, err)
	}
	out := map[string]string{}
	for k, v := range all {
		if rest, ok := strings.CutPrefix(k, "plot."); ok {
			out[rest] = v
		}
	}
	return out
}

// TestI18nFiles holds the translation files to the plot's keys: en.json's plot.* texts are the Go
// defaults, and ja.json translates every one of them.
func TestI18nFiles(t *testing.T) {
	en, ja := i18nTable(t, "en"), i18nTable(t, "ja")
	for k, v := range English {
		if en[k] != v {
			t.Errorf("en.json plot.%s = %q, want the plot's default %q", k, en[k], v)
		}
		if !strings.ContainsFunc(ja[k], func(r rune) bool { return r > 0x2fff }) {
			t.Errorf("ja.json plot.%s = %q, want Japanese text", k, ja[k])
		}
	}
	for _, tab := range []map[string]string{en, ja} {
		if err := checkText(tab); err != nil {
			t.Error(err)
		}
	}
	s := NewState()
	msg, _ := json.Marshal(map[string]any{"type": "options", "lang": "ja", "theme": "dark", "strings": ja})
	if err := Apply(s, msg); err != nil {
		t.Fatal(err)
	}
	if s.T("lossTitle") != ja["lossTitle"] || s.Lang != "ja" || s.Theme != "dark" {
		t.Errorf("after the ja options: lossTitle %q lang %q theme %q", s.T("lossTitle"), s.Lang, s.Theme)
	}
}

func TestOptionsText(t *testing.T) {
	s := NewState()
	if s.T("lossTitle") != "Loss" || s.T("nope") != "nope" {
		t.Errorf("defaults: %q %q", s.T("lossTitle"), s.T("nope"))
	}
	for _, m := range []string{
		`{"type":"options","lang":"ja","theme":"dark","strings":{"lossTitle":"損失"}}`,
		`{"type":"reset","labels":["もの A","もの B"],"epochs":3}`,
	} {
		if err := Apply(s, []byte(m)); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
	}
	// A reset keeps the language, theme and texts.
	if s.T("lossTitle") != "損失" || s.T("accTitle") != "Accuracy" || s.Theme != "dark" || s.Lang != "ja" {
		t.Errorf("after reset: %q %q theme %q lang %q", s.T("lossTitle"), s.T("accTitle"), s.Theme, s.Lang)
	}
	// Options without strings leave them; strings replace them all.
	if err := Apply(s, []byte(`{"type":"options","logScale":true}`)); err != nil || s.T("lossTitle") != "損失" {
		t.Errorf("options without strings dropped the texts: %v %q", err, s.T("lossTitle"))
	}
	if err := Apply(s, []byte(`{"type":"options","lang":"en","theme":"light","strings":{}}`)); err != nil || s.T("lossTitle") != "Loss" || s.Theme != "light" {
		t.Errorf("back to English: %v %q %q", err, s.T("lossTitle"), s.Theme)
	}
	v := s.Version
	for _, bad := range []string{
		`{"type":"options","theme":"blue"}`,
		`{"type":"options","strings":{"lossTitel":"x"}}`,
		`{"type":"options","strings":{"lossTitle":" "}}`,
		`{"type":"options","strings":{"lossTitle":3}}`,
		`{"type":"options","lang":"j a"}`,
		`{"type":"options","view":"table"}`,
		`{"type":"options","theme":"dark","strings":{"x":"y"}}`,
	} {
		if err := Apply(s, []byte(bad)); err == nil || !strings.HasPrefix(err.Error(), "plot: ") {
			t.Errorf("%s: err %v, want a plot: error", bad, err)
		}
	}
	if s.Version != v || s.Theme != "light" {
		t.Errorf("a rejected options message changed the state (version %d→%d, theme %q)", v, s.Version, s.Theme)
	}
}

// glyphs reports whether a font has a glyph for a rune, as the plot asks (wasm/plot hasGlyph:
// glyph 0 is the "missing" box).
func glyphs(f *sfnt.Font) func(rune) bool {
	var buf sfnt.Buffer
	return func(r rune) bool { i, err := f.GlyphIndex(&buf, r); return err == nil && i != 0 }
}

func goFont(t *testing.T) func(rune) bool {
	t.Helper()
	f, err := sfnt.Parse(goregular.TTF)
	if err != nil {
		t.Fatal(err)
	}
	return glyphs(f)
}

func TestMissing(t *testing.T) {
	has := goFont(t)
	// Every English default, with the ellipsis fit() adds and the status line's separator.
	var all []string
	for _, v := range English {
		all = append(all, v)
	}
	if m := Missing(has, append(all, "…", " · ", "100%", "1e-3")...); len(m) != 0 {
		t.Errorf("the Go font lacks %q, which the English plot draws", string(m))
	}
	if m := Missing(has, "もの A", "もの B", "Aの"); string(m) != "もの" {
		t.Errorf("Missing = %q, want %q (each rune once, in order)", string(m), "もの")
	}
	s := NewState()
	if s.NeedsFallback(has) {
		t.Error("an empty English plot asks for the fallback font")
	}
	s.Labels = []string{"cat", "dog"}
	if s.NeedsFallback(has) {
		t.Error("Latin class names ask for the fallback font")
	}
	s.Labels = []string{"cat", "ねこ"}
	if !s.NeedsFallback(has) {
		t.Error("a Japanese class name does not ask for the fallback font")
	}
	s.Labels = nil
	s.Text = map[string]string{"lossTitle": "Pérdida"}
	if s.NeedsFallback(has) {
		t.Error("a Latin-1 translation asks for the fallback font")
	}
	s.Lang = "ja"
	if !s.NeedsFallback(has) {
		t.Error("lang ja does not ask for the fallback font")
	}
}

// TestFallbackFontCovers checks the built subset (scripts/web.sh) against what the plot draws in
// Japanese: every plot.* text of ja.json, the kiosk's class names, kana and common kanji.
func TestFallbackFontCovers(t *testing.T) {
	path := filepath.Join("..", "..", "..", "public", "build", "fonts", "plot-cjk.ttf")
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("%v: run ./build.sh web to build the plot's Japanese font", err)
	}
	f, err := sfnt.Parse(b)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	cjk := glyphs(f)
	goHas := goFont(t)
	both := func(r rune) bool { return goHas(r) || cjk(r) }
	var texts []string
	for _, v := range i18nTable(t, "ja") {
		texts = append(texts, v)
	}
	// The kana of JIS X 0208 (Droid Sans Fallback predates ゕゖ and lacks ヷ–ヺ), and ・ー.
	kana := []rune{0x30fb, 0x30fc}
	for r := rune(0x3041); r <= 0x3093; r++ {
		kana = append(kana, r)
	}
	for r := rune(0x30a1); r <= 0x30f6; r++ {
		kana = append(kana, r)
	}
	texts = append(texts, "もの A", "もの B", string(kana), "鳥果物花乗り物猫犬学習検証精度損失混同行列", "ＡＢＣ１２３（）「」、。")
	if m := Missing(both, texts...); len(m) != 0 {
		t.Errorf("the Go font and %s together lack %q", path, string(m))
	}
	// Outside the subset: a rare ideograph (JIS X 0213 only) and Hangul.
	if m := Missing(cjk, "𠀋한"); len(m) != 2 {
		t.Errorf("the subset keeps %q, which it should have dropped", "𠀋한")
	}
}

// FuzzApply feeds the plot arbitrary messages: Apply must never panic, and whatever it accepts must
// leave a state the drawing code can trust (a known theme, known text keys, a consistent report).
func FuzzApply(f *testing.F) {
	for _, m := range []string{
		`{"type":"options","lang":"ja","theme":"dark","strings":{"lossTitle":"損失"}}`,
		`{"type":"options","theme":"dim","strings":{"lossTitle":"x"}}`,
		`{"type":"options","strings":{"nope":"x"},"logScale":true}`,
		`{"type":"report","labels":["a","b"],"confusion":[[1,0],[0,1]],"perClass":[{},{}],"valAcc":1}`,
		`{"type":"events","events":[{"kind":"step","step":1,"steps":2,"epochs":1,"trainLoss":1e308}]}`,
	} {
		f.Add([]byte(m))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		s := NewState()
		if err := Apply(s, []byte(`{"type":"reset","labels":["a","b"],"epochs":3}`)); err != nil {
			t.Fatal(err)
		}
		err := Apply(s, data)
		if s.Theme != "" && s.Theme != "light" && s.Theme != "dark" {
			t.Fatalf("theme %q accepted (err %v)", s.Theme, err)
		}
		if err := checkText(s.Text); err != nil {
			t.Fatalf("texts accepted that the plot cannot draw: %v", err)
		}
		if len(s.Confusion) != 0 && (len(s.Confusion) != len(s.Labels) || len(s.PerClass) > len(s.Labels)) {
			t.Fatalf("report of %d rows for %d labels, %d per-class rows accepted", len(s.Confusion), len(s.Labels), len(s.PerClass))
		}
		_ = s.XMax()
		_ = s.T("lossTitle")
		_ = PaletteFor(s.Theme)
	})
}
