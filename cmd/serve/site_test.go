package main

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func site(t *testing.T) (*Site, string) {
	t.Helper()
	root := t.TempDir()
	write := func(name, body string) {
		p := filepath.Join(root, filepath.FromSlash(name))
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("index.html", "<!doctype html>page")
	write("go.mod", "module secret")
	write("js/main.js", "export {}")
	write("js/app.js", "export const app = 1")
	write("public/build/twins/js/app.js.br", "BR-APP")
	write("public/build/app.wasm", "\x00asm plain")
	write("public/build/app.wasm.br", "BROTLI")
	write("public/build/app.wasm.gz", "GZIP")
	write("public/build/old.js", "new source")
	write("public/build/old.js.br", "stale")
	write("public/sw.js", "self")
	write("public/.hidden", "x")
	// The twin of old.js is older than its source: a rebuild without recompression.
	past := time.Now().Add(-time.Hour)
	os.Chtimes(filepath.Join(root, "public/build/old.js.br"), past, past)
	return NewSite(root), root
}

func get(t *testing.T, h http.Handler, path, accept string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest("GET", path, nil)
	if accept != "" {
		r.Header.Set("Accept-Encoding", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestSite(t *testing.T) {
	s, _ := site(t)
	cases := []struct {
		path, accept string
		status       int
		ctype, enc   string
		body         string
	}{
		{"/", "", 200, "text/html; charset=utf-8", "", "<!doctype html>page"},
		{"/js/main.js", "br", 200, "text/javascript; charset=utf-8", "", "export {}"},
		{"/js/app.js", "gzip, br", 200, "text/javascript; charset=utf-8", "br", "BR-APP"},
		{"/js/app.js", "gzip", 200, "text/javascript; charset=utf-8", "", "export const app = 1"},
		{"/public/build/app.wasm", "gzip, deflate, br", 200, "application/wasm", "br", "BROTLI"},
		{"/public/build/app.wasm", "gzip", 200, "application/wasm", "gzip", "GZIP"},
		{"/public/build/app.wasm", "br;q=0, gzip", 200, "application/wasm", "gzip", "GZIP"},
		{"/public/build/app.wasm", "", 200, "application/wasm", "", "\x00asm plain"},
		{"/public/build/old.js", "br", 200, "text/javascript; charset=utf-8", "", "new source"},
		{"/go.mod", "", 404, "", "", ""},
		{"/public/../go.mod", "", 404, "", "", ""},
		{"/public/.hidden", "", 404, "", "", ""},
		{"/public/missing.js", "", 404, "", "", ""},
		{"/public/build", "", 404, "", "", ""},
	}
	for _, c := range cases {
		w := get(t, s, c.path, c.accept)
		if w.Code != c.status {
			t.Errorf("%s (%s): status %d, want %d", c.path, c.accept, w.Code, c.status)
			continue
		}
		if c.status != 200 {
			continue
		}
		if got := w.Header().Get("Content-Type"); got != c.ctype {
			t.Errorf("%s: Content-Type %q, want %q", c.path, got, c.ctype)
		}
		if got := w.Header().Get("Content-Encoding"); got != c.enc {
			t.Errorf("%s (%s): Content-Encoding %q, want %q", c.path, c.accept, got, c.enc)
		}
		if got := w.Body.String(); got != c.body {
			t.Errorf("%s (%s): body %q, want %q", c.path, c.accept, got, c.body)
		}
		if w.Header().Get("Content-Security-Policy") != CSP || w.Header().Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s: security headers missing", c.path)
		}
	}
	if got := get(t, s, "/public/sw.js", "").Header().Get("Service-Worker-Allowed"); got != "/" {
		t.Errorf("sw.js Service-Worker-Allowed %q, want /", got)
	}
	r := httptest.NewRequest("POST", "/", nil)
	w := httptest.NewRecorder()
	s.ServeHTTP(w, r)
	if w.Code != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d", w.Code)
	}
}

func TestAcceptedEncodings(t *testing.T) {
	for h, want := range map[string]string{
		"":                     "",
		"gzip":                 "gzip",
		"br":                   "br",
		"gzip, br":             "br gzip",
		"BR;q=1.0, GZIP;q=0.5": "br gzip",
		"br;q=0":               "",
		"br; q=0, gzip":        "gzip",
		"deflate, identity":    "",
	} {
		got := ""
		for i, e := range acceptedEncodings(h) {
			if i > 0 {
				got += " "
			}
			got += e
		}
		if got != want {
			t.Errorf("acceptedEncodings(%q) = %q, want %q", h, got, want)
		}
	}
}
