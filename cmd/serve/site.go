package main

import (
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// CSP keeps every fetch, script, worker, image and frame on the page's own origin: the app must
// never reach outside it. 'wasm-unsafe-eval' lets WebAssembly compile; blob:/data: images hold
// thumbnails; mediastream: is the webcam.
const CSP = "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; worker-src 'self'; " +
	"connect-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; " +
	"style-src 'self' 'unsafe-inline'; frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'none'"

// servedPrefixes are the only parts of the root the server exposes: the page, its modules and
// the built assets. Sources, scripts and .git stay private.
var servedPrefixes = []string{"/js/", "/public/"}

var contentTypes = map[string]string{
	".wasm":        "application/wasm",
	".js":          "text/javascript; charset=utf-8",
	".mjs":         "text/javascript; charset=utf-8",
	".json":        "application/json",
	".html":        "text/html; charset=utf-8",
	".css":         "text/css; charset=utf-8",
	".svg":         "image/svg+xml",
	".png":         "image/png",
	".jpg":         "image/jpeg",
	".webmanifest": "application/manifest+json",
	".bin":         "application/octet-stream",
	".ttf":         "font/ttf",
	".safetensors": "application/octet-stream",
}

// Site serves a built site folder.
type Site struct{ root string }

// NewSite returns a handler serving root.
func NewSite(root string) *Site { return &Site{root: root} }

func (s *Site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	p := path.Clean("/" + r.URL.Path)
	if p == "/" {
		p = "/index.html"
	}
	if !allowed(p) {
		http.NotFound(w, r)
		return
	}
	name := filepath.Join(s.root, filepath.FromSlash(p))
	fi, err := os.Stat(name)
	if err != nil || fi.IsDir() {
		http.NotFound(w, r)
		return
	}

	h := w.Header()
	ext := path.Ext(p)
	ct, ok := contentTypes[ext]
	if !ok {
		ct = mime.TypeByExtension(ext)
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", CSP)
	h.Set("Referrer-Policy", "no-referrer")
	// The service worker lives in public/ but controls the whole site.
	if p == "/public/sw.js" {
		h.Set("Service-Worker-Allowed", "/")
	}
	// Revalidate everything: the service worker does the offline caching, and a rebuilt wasm
	// must never be mixed with an old wasm_exec.js.
	h.Set("Cache-Control", "no-cache")
	h.Add("Vary", "Accept-Encoding")

	// A twin older than its source is stale (a rebuild without recompression): never serve it.
	// Some compressors keep only whole seconds of the source's time.
	// Generated files have their twins beside them; sources (index.html, js/, the files in
	// public/) have theirs under public/build/twins/, so the source folders stay free of build
	// output.
	send, enc := name, ""
	if compressible(ext) {
		twins := []string{name, filepath.Join(s.root, "public", "build", "twins", filepath.FromSlash(p))}
	search:
		for _, e := range acceptedEncodings(r.Header.Get("Accept-Encoding")) {
			suffix := map[string]string{"br": ".br", "gzip": ".gz"}[e]
			for _, t := range twins {
				if zfi, err := os.Stat(t + suffix); err == nil && !zfi.IsDir() && !zfi.ModTime().Truncate(time.Second).Before(fi.ModTime().Truncate(time.Second)) {
					send, enc = t+suffix, e
					break search
				}
			}
		}
	}
	f, err := os.Open(send)
	if err != nil {
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	defer f.Close()
	sfi, err := f.Stat()
	if err != nil {
		http.Error(w, "cannot read file", http.StatusInternalServerError)
		return
	}
	if enc != "" {
		h.Set("Content-Encoding", enc)
	}
	// ServeContent handles HEAD, Last-Modified/If-Modified-Since and ranges; a range over the
	// compressed twin is still a correct range of the encoded representation.
	http.ServeContent(w, r, "", sfi.ModTime(), f)
}

func allowed(p string) bool {
	if p == "/index.html" {
		return true
	}
	for _, pre := range servedPrefixes {
		if strings.HasPrefix(p, pre) {
			// No dotfiles anywhere below.
			return !strings.Contains(p, "/.")
		}
	}
	return false
}

func compressible(ext string) bool {
	switch ext {
	case ".wasm", ".js", ".mjs", ".json", ".html", ".css", ".svg", ".bin", ".txt", ".ttf":
		return true
	}
	return false
}

// acceptedEncodings returns the encodings we hold twins for, in our order of preference (br first),
// that the Accept-Encoding header allows (q=0 excludes).
func acceptedEncodings(header string) []string {
	ok := map[string]bool{}
	for _, part := range strings.Split(header, ",") {
		fields := strings.Split(strings.TrimSpace(part), ";")
		name := strings.ToLower(strings.TrimSpace(fields[0]))
		q := true
		for _, f := range fields[1:] {
			f = strings.ReplaceAll(strings.TrimSpace(f), " ", "")
			if f == "q=0" || f == "q=0.0" || f == "q=0.00" || f == "q=0.000" {
				q = false
			}
		}
		if name != "" {
			ok[name] = q
		}
	}
	var out []string
	for _, e := range []string{"br", "gzip"} {
		if ok[e] {
			out = append(out, e)
		}
	}
	return out
}
