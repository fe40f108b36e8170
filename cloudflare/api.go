// Package cloudflare is the HTTP API of the Cloudflare Worker that hosts the site: it shares trained
// heads by link and runs them on feature vectors sent over HTTP.
//
//	GET  /api/health                 {"service":"finetuner",...}: lets the page find out an API answers
//	POST /api/heads                  body: a .safetensors head file → {"id","url",...}
//	GET  /api/heads/{id}             the head file
//	GET  /api/heads/{id}/meta        labels, backbone, architecture, metrics as JSON
//	POST /api/heads/{id}/predict     {"features":[...D]} or {"features":[[...D],...]} → probabilities
//
// The static site itself is served by wrangler's assets, not by this package. Handler is a plain
// http.Handler over a KV interface, so the native tests drive it with httptest and MemKV; the
// wasm main in cloudflare/wasm binds it to Workers KV through syumai/workers. One Handler serves
// every request of a Worker isolate (cloudflare/entry.mjs starts Go once), concurrently, and
// keeps the heads it has read decoded in a bounded cache.
//
// Every error is a JSON object {"error": "...", "status": N} with the status that fits: 400
// malformed request, 404 unknown head or route, 405 wrong method, 413 too large, 415 wrong
// Content-Type, 422 well-formed but wrong content (not a head file, wrong dimension, a null or
// out-of-range value). A 500 means the Worker itself failed, never bad input.
package cloudflare

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync/atomic"

	"finetuner/head"
)

const (
	// MaxHeadBytes caps an uploaded head file. A linear head on 1792-d features is 15 KB and an
	// MLP of width 256 on them 1.8 MB; Workers KV takes values up to 25 MiB.
	MaxHeadBytes = 4 << 20
	// MaxPredictBytes caps a predict request body: MaxPredictRows rows of 1792 float32s in
	// shortest JSON form fit.
	MaxPredictBytes = 8 << 20
	// MaxPredictRows caps the rows of one predict request.
	MaxPredictRows = 256
	// IDLen is the length of a head id: the first 128 bits of the SHA-256 of the file, in hex.
	IDLen = 32

	keyPrefix = "head/"
)

// Handler serves /api/*.
type Handler struct {
	kv     KV
	cache  *headCache
	served atomic.Int64
}

// New returns the API handler over kv, with a head cache of MaxCacheBytes and MaxCacheHeads.
func New(kv KV) *Handler { return &Handler{kv: kv, cache: newHeadCache(MaxCacheBytes, MaxCacheHeads)} }

// apiError is an error with the HTTP status it should be answered with.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func errorf(status int, format string, args ...any) *apiError {
	return &apiError{status: status, msg: fmt.Sprintf(format, args...)}
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.served.Add(1)
	hd := w.Header()
	// The API is public and holds no credentials, so any page may call it (tutorials embedding
	// a shared head); nosniff and a deny-all CSP keep a response from ever acting as a page.
	hd.Set("Access-Control-Allow-Origin", "*")
	hd.Set("Access-Control-Expose-Headers", "Location")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
	hd.Set("Referrer-Policy", "no-referrer")
	defer func() {
		// A panic would surface as an opaque Worker exception page; answer JSON instead.
		if v := recover(); v != nil {
			writeError(w, errorf(http.StatusInternalServerError, "internal error: %v", v))
		}
	}()
	if err := h.route(w, r); err != nil {
		writeError(w, err)
	}
}

// route dispatches on the path, then on the method.
func (h *Handler) route(w http.ResponseWriter, r *http.Request) error {
	p := r.URL.Path
	if !strings.HasPrefix(p, "/api/") {
		return errorf(http.StatusNotFound, "no such path %q", p)
	}
	parts := strings.Split(strings.TrimPrefix(p, "/api/"), "/")
	type route struct {
		methods string
		serve   func() error
	}
	var rt route
	switch {
	case len(parts) == 1 && parts[0] == "health":
		rt = route{"GET, HEAD", func() error { return h.health(w) }}
	case len(parts) == 1 && parts[0] == "heads":
		rt = route{"POST", func() error { return h.upload(w, r) }}
	case len(parts) == 2 && parts[0] == "heads":
		rt = route{"GET, HEAD", func() error { return h.file(w, r, parts[1]) }}
	case len(parts) == 3 && parts[0] == "heads" && parts[2] == "meta":
		rt = route{"GET, HEAD", func() error { return h.meta(w, r, parts[1]) }}
	case len(parts) == 3 && parts[0] == "heads" && parts[2] == "predict":
		rt = route{"POST", func() error { return h.predict(w, r, parts[1]) }}
	default:
		return errorf(http.StatusNotFound, "no such API path %q; see /api/health", p)
	}
	if r.Method == http.MethodOptions {
		hd := w.Header()
		hd.Set("Allow", rt.methods+", OPTIONS")
		hd.Set("Access-Control-Allow-Methods", rt.methods+", OPTIONS")
		hd.Set("Access-Control-Allow-Headers", "Content-Type")
		hd.Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return nil
	}
	for _, m := range strings.Split(rt.methods, ", ") {
		if r.Method == m {
			return rt.serve()
		}
	}
	w.Header().Set("Allow", rt.methods+", OPTIONS")
	return errorf(http.StatusMethodNotAllowed, "method %s not allowed on %s; use %s", r.Method, p, rt.methods)
}

// Health is the answer of GET /api/health.
type Health struct {
	Service         string `json:"service"` // always "finetuner"
	API             int    `json:"api"`     // version of this API
	MaxHeadBytes    int    `json:"maxHeadBytes"`
	MaxPredictBytes int    `json:"maxPredictBytes"`
	MaxPredictRows  int    `json:"maxPredictRows"`
	// Served counts the requests this Go instance has handled, this one included: it grows
	// from one request to the next while the Worker isolate lives.
	Served int64      `json:"served"`
	Cache  CacheStats `json:"cache"`
}

func (h *Handler) health(w http.ResponseWriter) error {
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, Health{"finetuner", 1, MaxHeadBytes, MaxPredictBytes, MaxPredictRows, h.served.Load(), h.cache.stats()})
	return nil
}

// Shared is the answer of POST /api/heads.
type Shared struct {
	ID       string   `json:"id"`
	URL      string   `json:"url"`  // the page with this head loaded: <origin>/?head=<id>
	File     string   `json:"file"` // the head file: <origin>/api/heads/<id>
	Bytes    int      `json:"bytes"`
	Labels   []string `json:"labels"`
	Backbone string   `json:"backbone,omitempty"`
	Created  bool     `json:"created"` // false when these exact bytes were already shared
}

func (h *Handler) upload(w http.ResponseWriter, r *http.Request) error {
	if err := checkContentType(r, "application/octet-stream", "send the .safetensors head file as the raw body with Content-Type: application/octet-stream"); err != nil {
		return err
	}
	b, err := readBody(r, MaxHeadBytes, "head file")
	if err != nil {
		return err
	}
	if len(b) == 0 {
		return errorf(http.StatusBadRequest, "empty body: send the .safetensors head file as the request body")
	}
	m, err := head.ReadModel(b)
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	id := ContentID(b)
	exists := h.cache.get(id) != nil
	if !exists {
		_, exists, err = h.kv.Get(r.Context(), keyPrefix+id)
	}
	if err != nil {
		return errorf(http.StatusInternalServerError, "storage: %v", err)
	}
	// The key is the hash of the bytes, so an existing value is these bytes: skip the write
	// (Workers KV allows one write per second to a key, and writes cost more than reads).
	if !exists {
		if err := h.kv.Put(r.Context(), keyPrefix+id, b); err != nil {
			// Two uploads of the same file at once: the other one's write counts as ours
			// (Workers KV refuses a second write to a key within a second).
			if got, ok, gerr := h.kv.Get(r.Context(), keyPrefix+id); gerr != nil || !ok || !bytes.Equal(got, b) {
				return errorf(http.StatusInternalServerError, "storage: %v", err)
			}
		}
	}
	// Whoever shares a head usually tries it next: keep it decoded.
	h.cache.add(&cachedHead{id: id, file: b, model: m})
	o := origin(r)
	status := http.StatusCreated
	if exists {
		status = http.StatusOK
	}
	w.Header().Set("Location", "/api/heads/"+id)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, status, Shared{
		ID: id, URL: o + "/?head=" + id, File: o + "/api/heads/" + id, Bytes: len(b),
		Labels: m.Labels, Backbone: m.Meta.BackboneID, Created: !exists,
	})
	return nil
}

// ContentID is the id of a head file: the first 128 bits of its SHA-256, in lowercase hex.
func ContentID(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:IDLen/2])
}

func validID(id string) bool {
	if len(id) != IDLen {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return true
}

// load returns the head with the given id, from the cache or else from KV, decoded. Stored
// files were validated on upload; one that fails now means the store is damaged, which is our
// fault, not the caller's.
func (h *Handler) load(ctx context.Context, id string) (*cachedHead, error) {
	if !validID(id) {
		return nil, errorf(http.StatusNotFound, "no head %q: a head id is %d lowercase hex characters", id, IDLen)
	}
	if c := h.cache.get(id); c != nil {
		return c, nil
	}
	b, ok, err := h.kv.Get(ctx, keyPrefix+id)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "storage: %v", err)
	}
	if !ok {
		return nil, errorf(http.StatusNotFound, "no head with id %s (it was never shared here)", id)
	}
	m, err := head.ReadModel(b)
	if err != nil {
		return nil, errorf(http.StatusInternalServerError, "stored head %s is damaged: %v", id, err)
	}
	return h.cache.add(&cachedHead{id: id, file: b, model: m}), nil
}

// immutable marks a response that depends only on the content-hash id.
func immutable(w http.ResponseWriter, id string) {
	w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	w.Header().Set("ETag", `"`+id+`"`)
}

func (h *Handler) file(w http.ResponseWriter, r *http.Request, id string) error {
	c, err := h.load(r.Context(), id)
	if err != nil {
		return err
	}
	b := c.file
	hd := w.Header()
	immutable(w, id)
	if r.Header.Get("If-None-Match") == `"`+id+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	hd.Set("Content-Type", "application/octet-stream")
	hd.Set("Content-Disposition", `attachment; filename="head-`+id[:8]+`.safetensors"`)
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	// The body goes out for HEAD too: servers drop it, and the Workers runtime's fixed-length
	// stream fails a response that declares a length and sends nothing.
	w.Write(b)
	return nil
}

// Meta is the answer of GET /api/heads/{id}/meta.
type Meta struct {
	ID           string    `json:"id"`
	Bytes        int       `json:"bytes"`
	Labels       []string  `json:"labels"`
	Classes      int       `json:"classes"`
	FeatureDim   int       `json:"featureDim"`
	Kind         string    `json:"kind"` // "linear" or "mlp"
	Arch         head.Arch `json:"arch"`
	Standardized bool      `json:"standardized"` // features are standardised inside the head
	Backbone     string    `json:"backbone,omitempty"`
	Tap          string    `json:"tap,omitempty"`
	// Finetuned names the backbone blocks a head was trained together with (head file format 2);
	// such a head predicts in the page and from its model exports, not from features here.
	Finetuned []string           `json:"finetunedBlocks,omitempty"`
	Config    *head.Config       `json:"config,omitempty"`
	Metrics   map[string]float64 `json:"metrics,omitempty"`
	Created   string             `json:"created,omitempty"`
}

func (h *Handler) meta(w http.ResponseWriter, r *http.Request, id string) error {
	c, err := h.load(r.Context(), id)
	if err != nil {
		return err
	}
	m, b := c.model, c.file
	immutable(w, id)
	if r.Header.Get("If-None-Match") == `"`+id+`"` {
		w.WriteHeader(http.StatusNotModified)
		return nil
	}
	// JSON has no NaN or Inf; a metric that is not finite is left out rather than faked. A
	// copy: the cached model is shared with other requests.
	metrics := map[string]float64{}
	for k, v := range m.Meta.Metrics {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			metrics[k] = v
		}
	}
	if len(metrics) == 0 {
		metrics = nil
	}
	arch := m.Arch
	if arch.Hidden == nil {
		arch.Hidden = []int{} // [] rather than null: a linear head has no hidden layers
	}
	writeJSON(w, http.StatusOK, Meta{
		ID: id, Bytes: len(b), Labels: m.Labels, Classes: m.C, FeatureDim: m.D,
		Kind: m.Arch.Kind(), Arch: arch, Standardized: m.Mean != nil,
		Backbone: m.Meta.BackboneID, Tap: m.Meta.Tap, Finetuned: finetunedBlocks(m), Config: m.Meta.Config,
		Metrics: metrics, Created: m.Meta.Created,
	})
	return nil
}

// finetunedBlocks is the backbone blocks m was trained with, or nil for a head on frozen features.
func finetunedBlocks(m *head.Model) []string {
	if m.Backbone == nil {
		return nil
	}
	return append([]string{}, m.Backbone.Blocks...)
}

// PredictRequest is the body of POST /api/heads/{id}/predict. Features is one row of D numbers
// or a list of up to MaxPredictRows such rows.
type PredictRequest struct {
	Features json.RawMessage `json:"features"`
}

// Prediction is the answer for a single row; PredictionBatch for a list of rows.
type Prediction struct {
	Labels        []string  `json:"labels"`
	Predicted     string    `json:"predicted"`
	Probabilities []float32 `json:"probabilities"`
}

// PredictionBatch is the answer for a list of rows, in the order sent.
type PredictionBatch struct {
	Labels        []string    `json:"labels"`
	Predicted     []string    `json:"predicted"`
	Probabilities [][]float32 `json:"probabilities"`
}

func (h *Handler) predict(w http.ResponseWriter, r *http.Request, id string) error {
	if err := checkContentType(r, "application/json", `send {"features": [...]} with Content-Type: application/json`); err != nil {
		return err
	}
	// The id is checked before the body is read, so a wrong id costs nothing.
	c, err := h.load(r.Context(), id)
	if err != nil {
		return err
	}
	m := c.model
	// A fine-tuned head's input is what its own fine-tuned blocks make of a photo, not the frozen
	// backbone's features a client would send: its answers here would look right and be wrong.
	if blocks := finetunedBlocks(m); blocks != nil {
		return errorf(http.StatusUnprocessableEntity, "head %s was trained together with the last %d block(s) of %s (%s), which this API does not run on features: open its share link in the page, or export it as a TF.js or ONNX model", id, len(blocks), m.Meta.BackboneID, strings.Join(blocks, ", "))
	}
	body, err := readBody(r, MaxPredictBytes, "predict request")
	if err != nil {
		return err
	}
	x, n, single, err := parseFeatures(body, m)
	if err != nil {
		return err
	}
	probs := make([]float32, n*m.C)
	// Finite but huge inputs can still overflow inside the head; Predict says so.
	c.mu.Lock()
	err = m.Predict(probs, x, n)
	c.mu.Unlock()
	if err != nil {
		return errorf(http.StatusUnprocessableEntity, "%v", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	if single {
		writeJSON(w, http.StatusOK, Prediction{m.Labels, m.Labels[head.Argmax(probs)], probs})
		return nil
	}
	out := PredictionBatch{Labels: m.Labels, Predicted: make([]string, n), Probabilities: make([][]float32, n)}
	for i := range n {
		p := probs[i*m.C : (i+1)*m.C : (i+1)*m.C]
		out.Predicted[i], out.Probabilities[i] = m.Labels[head.Argmax(p)], p
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// parseFeatures decodes the feature rows of a predict request into x (n,D). single is true when
// the request held one bare row rather than a list of rows.
func parseFeatures(body []byte, m *head.Model) (x []float32, n int, single bool, err error) {
	if x, n, single, ok := fastFeatures(body, m.D); ok {
		return x, n, single, nil
	}
	return slowFeatures(body, m)
}

// fastFeatures reads the usual body, {"features": [v, ...]} or {"features": [[v, ...], ...]}
// with D numbers per row and nothing else, in one pass. Under wasm, encoding/json (two
// validating passes, a state machine of indirect calls, then reflection) took 2.5 ms for one
// 480-d row, a quarter of the 10 ms CPU a Worker gets on Cloudflare's free plan; this takes
// 1.2 ms (BenchmarkParse, best of 6). ok is false for anything else, valid or not:
// slowFeatures then decides, and says what is wrong. What this accepts, slowFeatures accepts
// with the same result (FuzzFastFeatures).
func fastFeatures(b []byte, D int) (x []float32, rows int, single, ok bool) {
	p := 0
	ws := func() {
		for p < len(b) && (b[p] == ' ' || b[p] == '\t' || b[p] == '\n' || b[p] == '\r') {
			p++
		}
	}
	lit := func(s string) bool {
		if len(b)-p >= len(s) && string(b[p:p+len(s)]) == s {
			p += len(s)
			return true
		}
		return false
	}
	digits := func() int {
		q := p
		for p < len(b) && '0' <= b[p] && b[p] <= '9' {
			p++
		}
		return p - q
	}
	// num reads a number in JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
	num := func() (float32, bool) {
		q := p
		lit("-")
		switch {
		case lit("0"):
		case p < len(b) && '1' <= b[p] && b[p] <= '9':
			digits()
		default:
			return 0, false
		}
		if lit(".") && digits() == 0 {
			return 0, false
		}
		if lit("e") || lit("E") {
			if !lit("+") {
				lit("-")
			}
			if digits() == 0 {
				return 0, false
			}
		}
		v, err := strconv.ParseFloat(string(b[q:p]), 64)
		if err != nil || math.Abs(v) > math.MaxFloat32 {
			return 0, false
		}
		return float32(v), true
	}
	// row reads D numbers and the closing bracket; its '[' is already read.
	row := func() bool {
		for n := 0; ; n++ {
			ws()
			v, ok := num()
			if !ok || n == D {
				return false
			}
			x = append(x, v)
			ws()
			if lit("]") {
				return n+1 == D
			}
			if !lit(",") {
				return false
			}
		}
	}
	ws()
	if !lit("{") {
		return
	}
	ws()
	if !lit(`"features"`) {
		return
	}
	ws()
	if !lit(":") {
		return
	}
	ws()
	if !lit("[") {
		return
	}
	ws()
	if lit("[") {
		x = make([]float32, 0, D*min(8, MaxPredictRows))
		for {
			if !row() {
				return
			}
			if rows++; rows > MaxPredictRows {
				return
			}
			ws()
			if lit("]") {
				break
			}
			if !lit(",") {
				return
			}
			ws()
			if !lit("[") {
				return
			}
		}
	} else {
		x = make([]float32, 0, D)
		if !row() {
			return
		}
		rows, single = 1, true
	}
	ws()
	if !lit("}") {
		return
	}
	ws()
	return x, rows, single, p == len(b)
}

// slowFeatures reads any body through encoding/json, and finds the first thing wrong in it.
func slowFeatures(body []byte, m *head.Model) (x []float32, n int, single bool, err error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	var req PredictRequest
	if err := dec.Decode(&req); err != nil {
		return nil, 0, false, jsonError(err)
	}
	if dec.More() {
		return nil, 0, false, errorf(http.StatusBadRequest, "body holds more than one JSON value")
	}
	raw := bytes.TrimSpace(req.Features)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, 0, false, errorf(http.StatusBadRequest, `no "features": send {"features": [...%d numbers]} or a list of such rows`, m.D)
	}
	if raw[0] != '[' {
		return nil, 0, false, errorf(http.StatusUnprocessableEntity, `"features" must be a list of %d numbers or a list of such lists`, m.D)
	}
	// raw is valid JSON (the decoder checked it), so a small scanner can read the numbers
	// straight into x: encoding/json through reflection was most of a request's Go time under
	// wasm, and it would read a null as 0 without a word.
	sc := scanner{b: raw, D: m.D}
	sc.i = 1
	sc.ws()
	if sc.i < len(raw) && raw[sc.i] == '[' {
		for {
			sc.ws()
			if raw[sc.i] == ']' {
				break
			}
			if raw[sc.i] != '[' {
				return nil, 0, false, errorf(http.StatusUnprocessableEntity, "features[%d] is a JSON %s; a batch is a list of rows, each a list of %d numbers", sc.rows, kindOf(raw[sc.i]), m.D)
			}
			if sc.rows == MaxPredictRows {
				return nil, 0, false, errorf(http.StatusRequestEntityTooLarge, "more than %d rows in one request; at most %[1]d, send the rest in more requests", MaxPredictRows)
			}
			sc.i++
			if err := sc.row(m); err != nil {
				return nil, 0, false, err
			}
			sc.ws()
			if raw[sc.i] == ',' {
				sc.i++
			}
		}
	} else if raw[sc.i] != ']' {
		single = true
		if err := sc.row(m); err != nil {
			return nil, 0, false, err
		}
	}
	if sc.rows == 0 {
		return nil, 0, false, errorf(http.StatusUnprocessableEntity, "no feature rows: the list is empty")
	}
	return sc.x, sc.rows, single, nil
}

// scanner reads rows of numbers out of a valid JSON array.
type scanner struct {
	b    []byte
	i    int
	D    int
	rows int
	x    []float32
}

func (s *scanner) ws() {
	for s.i < len(s.b) && (s.b[s.i] == ' ' || s.b[s.i] == '\t' || s.b[s.i] == '\n' || s.b[s.i] == '\r') {
		s.i++
	}
}

// row reads one row whose '[' is already consumed, through its ']', appending it to x.
func (s *scanner) row(m *head.Model) error {
	r := s.rows
	n := 0
	for {
		s.ws()
		c := s.b[s.i]
		if c == ']' {
			s.i++
			break
		}
		if c != '-' && (c < '0' || c > '9') {
			if c == 'n' {
				return errorf(http.StatusUnprocessableEntity, "row %d, value %d is null; features must be finite numbers", r, n)
			}
			return errorf(http.StatusUnprocessableEntity, "row %d, value %d is a JSON %s; feature values must be numbers", r, n, kindOf(c))
		}
		j := s.i
		for s.i < len(s.b) && strings.IndexByte("+-.eE0123456789", s.b[s.i]) >= 0 {
			s.i++
		}
		v, err := strconv.ParseFloat(string(s.b[j:s.i]), 64)
		if err != nil || math.Abs(v) > math.MaxFloat32 {
			return errorf(http.StatusUnprocessableEntity, "row %d, value %d (%s) is beyond the float32 range", r, n, s.b[j:s.i])
		}
		if n < s.D {
			s.x = append(s.x, float32(v))
		}
		n++
		s.ws()
		if s.b[s.i] == ',' {
			s.i++
		}
	}
	if n != s.D {
		from := ""
		if m.Meta.BackboneID != "" {
			from = fmt.Sprintf(" (%s features)", m.Meta.BackboneID)
		}
		return errorf(http.StatusUnprocessableEntity, "row %d has %d values; this head takes %d%s", r, n, s.D, from)
	}
	s.rows++
	return nil
}

// kindOf names the JSON value that starts with c.
func kindOf(c byte) string {
	switch c {
	case '"':
		return "string"
	case 't', 'f':
		return "boolean"
	case 'n':
		return "null"
	case '{':
		return "object"
	case '[':
		return "list"
	}
	return "number"
}

// jsonError turns a decoding error into a message that says where and what.
func jsonError(err error) *apiError {
	var syn *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syn):
		return errorf(http.StatusBadRequest, "body is not valid JSON at byte %d: %v (NaN and Infinity are not JSON numbers)", syn.Offset, err)
	case errors.As(err, &typ):
		return errorf(http.StatusBadRequest, `the body must be a JSON object {"features": [...]}; got a JSON %s`, typ.Value)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return errorf(http.StatusBadRequest, `body is empty or cut short; send {"features": [...]}`)
	}
	return errorf(http.StatusBadRequest, "bad request body: %v", err)
}

// checkContentType accepts want (parameters ignored) or no Content-Type at all.
func checkContentType(r *http.Request, want, hint string) error {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return nil
	}
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil || mt != want {
		return errorf(http.StatusUnsupportedMediaType, "Content-Type %q: %s", ct, hint)
	}
	return nil
}

// readBody reads at most limit bytes of the body, answering 413 beyond.
func readBody(r *http.Request, limit int64, what string) ([]byte, error) {
	tooBig := errorf(http.StatusRequestEntityTooLarge, "%s larger than the %d MB limit", what, limit>>20)
	if r.ContentLength > limit {
		return nil, tooBig
	}
	if r.Body == nil {
		return nil, nil
	}
	b, err := io.ReadAll(io.LimitReader(r.Body, limit+1))
	if err != nil {
		return nil, errorf(http.StatusBadRequest, "reading the %s: %v", what, err)
	}
	if int64(len(b)) > limit {
		return nil, tooBig
	}
	return b, nil
}

// origin is scheme://host of the request. In the Worker the request URL is absolute; in a plain
// Go server only Host is set.
func origin(r *http.Request) string {
	if r.URL.Scheme != "" && r.URL.Host != "" {
		return r.URL.Scheme + "://" + r.URL.Host
	}
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeError(w, errorf(http.StatusInternalServerError, "encoding the answer: %v", err))
		return
	}
	b = append(b, '\n')
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b) // for HEAD too: see file
}

func writeError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = errorf(http.StatusInternalServerError, "%v", err)
	}
	b, _ := json.Marshal(struct {
		Error  string `json:"error"`
		Status int    `json:"status"`
	}{ae.msg, ae.status})
	b = append(b, '\n')
	hd := w.Header()
	hd.Set("Content-Type", "application/json; charset=utf-8")
	hd.Set("Content-Length", strconv.Itoa(len(b)))
	hd.Set("Cache-Control", "no-store")
	hd.Del("ETag")
	w.WriteHeader(ae.status)
	w.Write(b)
}
