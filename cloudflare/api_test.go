package cloudflare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"finetuner/head"
	"finetuner/kernels"
)

// trained returns a real head trained for a few epochs on D-dimensional blobs of C classes, its
// file, and its training rows.
func trained(t testing.TB, arch head.Arch, D, C int) (*head.Model, []byte, *head.Dataset) {
	t.Helper()
	rng := kernels.NewRNG(7)
	const per = 12
	ds := &head.Dataset{N: C * per, D: D, X: make([]float32, C*per*D), Y: make([]int32, C*per)}
	for c := range C {
		ds.Labels = append(ds.Labels, fmt.Sprintf("class %c", 'A'+c))
		for i := range per {
			r := c*per + i
			ds.Y[r] = int32(c)
			for j := range D {
				ds.X[r*D+j] = 2*rng.Float32() - 1
				if j%C == c {
					ds.X[r*D+j] += 3
				}
			}
		}
	}
	m, _, err := head.Train(context.Background(), ds, head.Config{Arch: arch, Epochs: 20, LR: 0.02, Seed: 1, ValFraction: 0.25}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	m.Meta.BackboneID, m.Meta.Tap, m.Meta.Created = "centernet", "tower_0/extern1/hard_swish/mul_1", "2026-11-27T00:00:00Z"
	b, err := m.MarshalSafetensors()
	if err != nil {
		t.Fatal(err)
	}
	return m, b, ds
}

type result struct {
	code int
	hdr  http.Header
	body []byte
}

func do(t testing.TB, h http.Handler, method, path, ctype string, body []byte) result {
	t.Helper()
	req := httptest.NewRequest(method, path, bytes.NewReader(body))
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return result{rec.Code, rec.Result().Header, rec.Body.Bytes()}
}

// wantError checks that r is a JSON error with the given status whose message holds each of
// the fragments.
func wantError(t *testing.T, r result, status int, fragments ...string) {
	t.Helper()
	if r.code != status {
		t.Fatalf("status %d, want %d; body %s", r.code, status, r.body)
	}
	if ct := r.hdr.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Fatalf("error Content-Type %q", ct)
	}
	var e struct {
		Error  string
		Status int
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Error == "" || e.Status != status {
		t.Fatalf("error body %s (%v)", r.body, err)
	}
	for _, f := range fragments {
		if !strings.Contains(e.Error, f) {
			t.Fatalf("error %q does not mention %q", e.Error, f)
		}
	}
}

func share(t *testing.T, h http.Handler, b []byte) Shared {
	t.Helper()
	r := do(t, h, "POST", "/api/heads", "application/octet-stream", b)
	if r.code != http.StatusCreated && r.code != http.StatusOK {
		t.Fatalf("upload: %d %s", r.code, r.body)
	}
	var s Shared
	if err := json.Unmarshal(r.body, &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestHealth(t *testing.T) {
	r := do(t, New(NewMemKV()), "GET", "/api/health", "", nil)
	var hl Health
	if err := json.Unmarshal(r.body, &hl); r.code != 200 || err != nil || hl.Service != "finetuner" || hl.MaxHeadBytes != MaxHeadBytes {
		t.Fatalf("%d %s %v", r.code, r.body, err)
	}
	if r.hdr.Get("Access-Control-Allow-Origin") != "*" || r.hdr.Get("X-Content-Type-Options") != "nosniff" {
		t.Fatalf("headers %v", r.hdr)
	}
}

func TestShareFetchMetaPredict(t *testing.T) {
	for _, arch := range []head.Arch{{}, {Hidden: []int{16}, Activation: "gelu"}, {Hidden: []int{8, 4}, NoOutputBias: true}} {
		t.Run(arch.Kind()+fmt.Sprint(arch.Hidden), func(t *testing.T) {
			m, b, ds := trained(t, arch, 24, 3)
			kv := NewMemKV()
			h := New(kv)

			r := do(t, h, "POST", "/api/heads", "application/octet-stream", b)
			if r.code != http.StatusCreated {
				t.Fatalf("upload: %d %s", r.code, r.body)
			}
			var s Shared
			if err := json.Unmarshal(r.body, &s); err != nil {
				t.Fatal(err)
			}
			if s.ID != ContentID(b) || len(s.ID) != IDLen || !s.Created || s.Bytes != len(b) ||
				s.URL != "http://example.com/?head="+s.ID || s.File != "http://example.com/api/heads/"+s.ID ||
				strings.Join(s.Labels, ",") != "class A,class B,class C" || s.Backbone != "centernet" {
				t.Fatalf("share answer %+v", s)
			}
			if r.hdr.Get("Location") != "/api/heads/"+s.ID {
				t.Fatalf("Location %q", r.hdr.Get("Location"))
			}

			r = do(t, h, "GET", "/api/heads/"+s.ID, "", nil)
			if r.code != 200 || !bytes.Equal(r.body, b) || r.hdr.Get("Content-Type") != "application/octet-stream" ||
				!strings.Contains(r.hdr.Get("Cache-Control"), "immutable") || r.hdr.Get("ETag") != `"`+s.ID+`"` {
				t.Fatalf("fetch: %d, %d bytes, headers %v", r.code, len(r.body), r.hdr)
			}
			req := httptest.NewRequest("GET", "/api/heads/"+s.ID, nil)
			req.Header.Set("If-None-Match", `"`+s.ID+`"`)
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != http.StatusNotModified || rec.Body.Len() != 0 {
				t.Fatalf("conditional fetch: %d, %d bytes", rec.Code, rec.Body.Len())
			}
			r = do(t, h, "HEAD", "/api/heads/"+s.ID, "", nil)
			if r.code != 200 || r.hdr.Get("Content-Length") != fmt.Sprint(len(b)) {
				t.Fatalf("HEAD: %d, %d bytes, %v", r.code, len(r.body), r.hdr)
			}

			r = do(t, h, "GET", "/api/heads/"+s.ID+"/meta", "", nil)
			var meta Meta
			if err := json.Unmarshal(r.body, &meta); r.code != 200 || err != nil {
				t.Fatalf("meta: %d %s %v", r.code, r.body, err)
			}
			if meta.ID != s.ID || meta.FeatureDim != 24 || meta.Classes != 3 || meta.Kind != arch.Kind() ||
				fmt.Sprint(meta.Arch.Hidden) != fmt.Sprint(arch.Hidden) || !meta.Standardized ||
				meta.Backbone != "centernet" || meta.Tap == "" || meta.Config == nil || meta.Config.Epochs != 20 ||
				meta.Metrics["valAcc"] != m.Meta.Metrics["valAcc"] || meta.Created != m.Meta.Created {
				t.Fatalf("meta %+v", meta)
			}

			want := make([]float32, ds.N*m.C)
			if err := m.Predict(want, ds.X, ds.N); err != nil {
				t.Fatal(err)
			}
			// One row: the answer mirrors the request with a flat list.
			one, _ := json.Marshal(map[string]any{"features": ds.X[:ds.D]})
			r = do(t, h, "POST", "/api/heads/"+s.ID+"/predict", "application/json", one)
			var p Prediction
			if err := json.Unmarshal(r.body, &p); r.code != 200 || err != nil {
				t.Fatalf("predict: %d %s %v", r.code, r.body, err)
			}
			if fmt.Sprint(p.Probabilities) != fmt.Sprint(want[:m.C]) || p.Predicted != m.Labels[head.Argmax(want[:m.C])] {
				t.Fatalf("predict one row: got %v %q, want %v", p.Probabilities, p.Predicted, want[:m.C])
			}
			// Every row in one batch: float32 survives JSON exactly, so the answer equals Predict's.
			rows := make([][]float32, ds.N)
			for i := range rows {
				rows[i] = ds.X[i*ds.D : (i+1)*ds.D]
			}
			all, _ := json.Marshal(PredictRequestFor(rows))
			r = do(t, h, "POST", "/api/heads/"+s.ID+"/predict", "application/json; charset=utf-8", all)
			var pb PredictionBatch
			if err := json.Unmarshal(r.body, &pb); r.code != 200 || err != nil {
				t.Fatalf("predict batch: %d %s %v", r.code, r.body[:min(len(r.body), 300)], err)
			}
			if len(pb.Probabilities) != ds.N || len(pb.Predicted) != ds.N {
				t.Fatalf("batch answer has %d rows, want %d", len(pb.Probabilities), ds.N)
			}
			correct := 0
			for i, row := range pb.Probabilities {
				for c, v := range row {
					if math.Float32bits(v) != math.Float32bits(want[i*m.C+c]) {
						t.Fatalf("row %d class %d: %v over HTTP, %v from Predict", i, c, v, want[i*m.C+c])
					}
				}
				if pb.Predicted[i] == ds.Labels[ds.Y[i]] {
					correct++
				}
			}
			if arch.Kind() == "linear" && correct < ds.N*9/10 {
				t.Fatalf("only %d/%d training rows predicted right: the head did not learn", correct, ds.N)
			}
		})
	}
}

// PredictRequestFor builds a batch request body.
func PredictRequestFor(rows [][]float32) map[string]any { return map[string]any{"features": rows} }

func TestShareIsIdempotent(t *testing.T) {
	_, b, _ := trained(t, head.Arch{}, 8, 2)
	kv := NewMemKV()
	h := New(kv)
	first := share(t, h, b)
	r := do(t, h, "POST", "/api/heads", "", b) // no Content-Type is fine too
	var again Shared
	if err := json.Unmarshal(r.body, &again); r.code != http.StatusOK || err != nil {
		t.Fatalf("second upload: %d %s", r.code, r.body)
	}
	if again.ID != first.ID || again.URL != first.URL || again.Created || kv.Puts() != 1 {
		t.Fatalf("second upload %+v after %+v, %d writes", again, first, kv.Puts())
	}
	// Different bytes (another seed) get another id.
	m2, _, _ := trained(t, head.Arch{Hidden: []int{4}}, 8, 2)
	b2, _ := m2.MarshalSafetensors()
	if other := share(t, h, b2); other.ID == first.ID || kv.Puts() != 2 {
		t.Fatalf("a different head got id %s (first %s), %d writes", other.ID, first.ID, kv.Puts())
	}
}

func TestUploadErrors(t *testing.T) {
	m, b, _ := trained(t, head.Arch{}, 8, 2)
	h := New(NewMemKV())
	post := func(ctype string, body []byte) result { return do(t, h, "POST", "/api/heads", ctype, body) }

	wantError(t, do(t, h, "GET", "/api/heads", "", nil), 405, "POST")
	wantError(t, do(t, h, "PUT", "/api/heads", "", b), 405)
	wantError(t, post("multipart/form-data; boundary=x", b), 415, "application/octet-stream")
	wantError(t, post("application/x-www-form-urlencoded", b), 415)
	wantError(t, post("application/octet-stream", nil), 400, "empty")
	wantError(t, post("application/octet-stream", []byte("hello, this is not a head file")), 422, "safetensors")
	wantError(t, post("application/octet-stream", b[:len(b)-5]), 422)
	wantError(t, post("application/octet-stream", bytes.Repeat([]byte{1}, MaxHeadBytes+1)), 413, "4 MB")

	// A declared length over the cap is refused before reading.
	req := httptest.NewRequest("POST", "/api/heads", bytes.NewReader(b))
	req.ContentLength = MaxHeadBytes + 1
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	wantError(t, result{rec.Code, rec.Result().Header, rec.Body.Bytes()}, 413)

	// Heads the app itself would refuse: NaN weights, a head with one class.
	bad := *m
	bad.Params = append([]float32(nil), m.Params...)
	bad.Params[3] = float32(math.NaN())
	nan, err := rebind(&bad).MarshalSafetensors()
	if err != nil {
		t.Fatal(err)
	}
	wantError(t, post("application/octet-stream", nan), 422, "finite")
	one := *m
	one.Labels = []string{"only"}
	if b1, err := one.MarshalSafetensors(); err == nil {
		wantError(t, post("application/octet-stream", b1), 422)
	}
}

// rebind returns a copy of m whose layers are views into its own Params, via the file format.
func rebind(m *head.Model) *head.Model {
	fresh, err := head.NewModel(m.Arch, m.D, m.Labels, func() *kernels.RNG { r := kernels.NewRNG(1); return &r }())
	if err != nil {
		panic(err)
	}
	copy(fresh.Params, m.Params)
	fresh.Mean, fresh.Std, fresh.Meta = m.Mean, m.Std, m.Meta
	return fresh
}

func TestPredictErrors(t *testing.T) {
	_, b, _ := trained(t, head.Arch{}, 4, 3)
	h := New(NewMemKV())
	id := share(t, h, b).ID
	path := "/api/heads/" + id + "/predict"
	post := func(ctype, body string) result { return do(t, h, "POST", path, ctype, []byte(body)) }
	const J = "application/json"

	wantError(t, do(t, h, "POST", "/api/heads/0123456789abcdef0123456789abcdef/predict", J, []byte(`{"features":[1,2,3,4]}`)), 404, "never shared")
	wantError(t, do(t, h, "POST", "/api/heads/nothex/predict", J, []byte(`{"features":[1,2,3,4]}`)), 404, "hex")
	wantError(t, do(t, h, "GET", path, "", nil), 405, "POST")
	wantError(t, post("text/plain;charset=UTF-8", `{"features":[1,2,3,4]}`), 415, "application/json")
	wantError(t, post(J, ``), 400, "empty")
	wantError(t, post(J, `{"features":[1,2,3,`), 400)
	wantError(t, post(J, `{"features":[1,NaN,3,4]}`), 400, "NaN")
	wantError(t, post(J, `{"features":[1,2,3,4]} {}`), 400, "more than one")
	wantError(t, post(J, `{"feature":[1,2,3,4]}`), 400, "feature")
	wantError(t, post(J, `{}`), 400, "features")
	wantError(t, post(J, `{"features":null}`), 400)
	wantError(t, post(J, `{"features":"1,2,3,4"}`), 422, "list")
	wantError(t, post(J, `{"features":[]}`), 422, "empty")
	wantError(t, post(J, `{"features":[1,2,3]}`), 422, "row 0 has 3 values", "takes 4", "centernet")
	wantError(t, post(J, `{"features":[[1,2,3,4],[1,2,3,4,5]]}`), 422, "row 1 has 5 values")
	wantError(t, post(J, `{"features":[1,null,3,4]}`), 422, "row 0, value 1 is null")
	wantError(t, post(J, `{"features":[[1,2,3,4],[1,2,null,4]]}`), 422, "row 1, value 2 is null")
	wantError(t, post(J, `{"features":[1,"2",3,4]}`), 422, "numbers")
	wantError(t, post(J, `{"features":[[1,2,3,4],5]}`), 422)
	wantError(t, post(J, `{"features":[1,2,1e39,4]}`), 422, "float32")
	wantError(t, post(J, `{"features":[1,2,1e400,4]}`), 422)
	wantError(t, post(J, `{"features":[[[1,2,3,4]]]}`), 422)

	rows := make([][]float32, MaxPredictRows+1)
	for i := range rows {
		rows[i] = []float32{1, 2, 3, 4}
	}
	tooMany, _ := json.Marshal(PredictRequestFor(rows))
	wantError(t, post(J, string(tooMany)), 413, "at most 256")
	if r := post(J, string(mustJSON(PredictRequestFor(rows[:MaxPredictRows])))); r.code != 200 {
		t.Fatalf("a batch of exactly %d rows: %d %s", MaxPredictRows, r.code, r.body)
	}
	huge := `{"features":[1,2,3,4` + strings.Repeat(" ", MaxPredictBytes) + `]}`
	wantError(t, post(J, huge), 413, "8 MB")
}

// TestFinetunedHeadPredictRefused: a head trained with the last blocks of its backbone (head
// file format 2) is shared and described like any other, with its blocks in the meta, but predict
// refuses it: features of the frozen backbone are not its input.
func TestFinetunedHeadPredictRefused(t *testing.T) {
	m, _, _ := trained(t, head.Arch{}, 4, 3)
	m.Backbone = &head.Finetuned{Blocks: []string{"expanded_conv_14"}, Cut: "net/expanded_conv_13/add",
		Names:   []string{"backbone.net/conv.weight"},
		Tensors: map[string][]float32{"backbone.net/conv.weight": {1, 2, 3, 4}},
		Shapes:  map[string][]int{"backbone.net/conv.weight": {2, 1, 1, 2}}}
	b, err := m.MarshalSafetensors()
	if err != nil {
		t.Fatal(err)
	}
	h := New(NewMemKV())
	id := share(t, h, b).ID
	r := do(t, h, "GET", "/api/heads/"+id+"/meta", "", nil)
	var meta Meta
	if r.code != 200 || json.Unmarshal(r.body, &meta) != nil || fmt.Sprint(meta.Finetuned) != "[expanded_conv_14]" {
		t.Fatalf("meta: %d %s", r.code, r.body)
	}
	wantError(t, do(t, h, "POST", "/api/heads/"+id+"/predict", "application/json", []byte(`{"features":[1,2,3,4]}`)),
		422, "trained together with the last 1 block(s) of centernet", "expanded_conv_14", "TF.js or ONNX")
	// A head on frozen features still says nothing about blocks.
	_, plain, _ := trained(t, head.Arch{}, 4, 3)
	r = do(t, h, "GET", "/api/heads/"+share(t, h, plain).ID+"/meta", "", nil)
	if r.code != 200 || bytes.Contains(r.body, []byte("finetunedBlocks")) {
		t.Fatalf("a frozen-feature head's meta: %d %s", r.code, r.body)
	}
}

func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

func TestRoutes(t *testing.T) {
	_, b, _ := trained(t, head.Arch{}, 4, 2)
	h := New(NewMemKV())
	id := share(t, h, b).ID
	wantError(t, do(t, h, "GET", "/api/nothing", "", nil), 404, "/api/health")
	wantError(t, do(t, h, "GET", "/api/heads/"+id+"/other", "", nil), 404)
	wantError(t, do(t, h, "GET", "/api/heads/"+id+"/", "", nil), 404)
	wantError(t, do(t, h, "GET", "/elsewhere", "", nil), 404)
	wantError(t, do(t, h, "GET", "/api/heads/"+strings.Repeat("0", IDLen), "", nil), 404, "never shared")
	wantError(t, do(t, h, "GET", "/api/heads/"+strings.ToUpper(id)+"/meta", "", nil), 404, "lowercase")
	wantError(t, do(t, h, "DELETE", "/api/heads/"+id, "", nil), 405, "GET")
	wantError(t, do(t, h, "POST", "/api/heads/"+id+"/meta", "", nil), 405)
	wantError(t, do(t, h, "POST", "/api/health", "", nil), 405)

	r := do(t, h, "OPTIONS", "/api/heads/"+id+"/predict", "", nil)
	if r.code != http.StatusNoContent || !strings.Contains(r.hdr.Get("Access-Control-Allow-Methods"), "POST") ||
		r.hdr.Get("Access-Control-Allow-Headers") != "Content-Type" || r.hdr.Get("Access-Control-Allow-Origin") != "*" {
		t.Fatalf("preflight: %d %v", r.code, r.hdr)
	}
	if r := do(t, h, "GET", "/api/heads/"+id, "", nil); r.hdr.Get("Content-Security-Policy") == "" {
		t.Fatal("API answers carry no CSP")
	}
}

// brokenKV fails every call, as a storage outage would.
type brokenKV struct{}

func (brokenKV) Get(context.Context, string) ([]byte, bool, error) {
	return nil, false, errors.New("KV unreachable")
}
func (brokenKV) Put(context.Context, string, []byte) error { return errors.New("KV unreachable") }

// racingKV fails the first Put after storing the value, as Workers KV does when another
// request wrote the same key within the second.
type racingKV struct{ *MemKV }

func (k racingKV) Put(ctx context.Context, key string, v []byte) error {
	k.MemKV.Put(ctx, key, v)
	return errors.New("KV PUT failed: 429 Too Many Requests")
}

func TestConcurrentSameUpload(t *testing.T) {
	_, b, _ := trained(t, head.Arch{}, 4, 2)
	if s := share(t, New(racingKV{NewMemKV()}), b); s.ID != ContentID(b) {
		t.Fatalf("upload racing another: %+v", s)
	}
}

func TestStorageFailureIsA500(t *testing.T) {
	_, b, _ := trained(t, head.Arch{}, 4, 2)
	h := New(brokenKV{})
	wantError(t, do(t, h, "POST", "/api/heads", "", b), 500, "storage", "KV unreachable")
	wantError(t, do(t, h, "GET", "/api/heads/"+ContentID(b), "", nil), 500, "storage")
	// A damaged stored value is reported as ours, not as the caller's fault.
	kv := NewMemKV()
	kv.Put(context.Background(), keyPrefix+ContentID(b), b[:20])
	wantError(t, do(t, New(kv), "GET", "/api/heads/"+ContentID(b)+"/meta", "", nil), 500, "damaged")
}

// FuzzPredict checks that no request body makes the predict route fail with a 500 or answer
// anything but JSON.
func FuzzPredict(f *testing.F) {
	_, b, _ := trained(f, head.Arch{Hidden: []int{3}}, 4, 2)
	kv := NewMemKV()
	h := New(kv)
	kv.Put(context.Background(), keyPrefix+ContentID(b), b)
	path := "/api/heads/" + ContentID(b) + "/predict"
	for _, s := range []string{`{"features":[1,2,3,4]}`, `{"features":[[1,2,3,4],[0,0,0,0]]}`, `{"features":[1,null,3,4]}`,
		`{"features":[[1e38,-1e38,3.4e38,0]]}`, `{"features":[[]]}`, `[]`, `null`, `{"features":{}}`, `{"features":[true]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := do(t, h, "POST", path, "application/json", body)
		if r.code == 500 || !strings.HasPrefix(r.hdr.Get("Content-Type"), "application/json") || !json.Valid(r.body) {
			t.Fatalf("body %q: %d %s", body, r.code, r.body)
		}
		if r.code == 200 && !bytes.Contains(r.body, []byte(`"probabilities"`)) {
			t.Fatalf("body %q: 200 without probabilities: %s", body, r.body)
		}
	})
}

// BenchmarkPredictRequest is the Go side of one single-row predict request on a 480-d, 7-class
// linear head (the Worker's own start-up and the runtime around it not included). warm: the
// head is in the isolate's cache, so parse the JSON row, predict, encode the answer; cold: a
// new Handler each time also reads the head from KV, decodes and validates it.
func BenchmarkPredictRequest(b *testing.B) {
	_, file, ds := trained(b, head.Arch{}, 480, 7)
	kv := NewMemKV()
	kv.Put(context.Background(), keyPrefix+ContentID(file), file)
	body := mustJSON(map[string]any{"features": ds.X[:ds.D]})
	path := "/api/heads/" + ContentID(file) + "/predict"
	for _, cold := range []bool{false, true} {
		name := map[bool]string{false: "warm", true: "cold"}[cold]
		b.Run(name, func(b *testing.B) {
			h := New(kv)
			b.ReportAllocs()
			for b.Loop() {
				if cold {
					h = New(kv)
				}
				if r := do(b, h, "POST", path, "application/json", body); r.code != 200 {
					b.Fatalf("%d %s", r.code, r.body)
				}
			}
		})
	}
}

func TestFastFeatures(t *testing.T) {
	m, _, _ := trained(t, head.Arch{}, 4, 2)
	for _, body := range []string{
		`{"features":[1,2,3,4]}`, ` { "features" : [ -0.5 , 2e3 , 3.25E-2 , 0 ] } `, "{\"features\":\t[[1,2,3,4],\n[5,6,7,8]]}\r\n",
		`{"features":[1e38,-3.4e38,0.0,-0]}`,
	} {
		x, n, single, ok := fastFeatures([]byte(body), 4)
		sx, sn, ssingle, err := slowFeatures([]byte(body), m)
		if !ok || err != nil || n != sn || single != ssingle || fmt.Sprint(x) != fmt.Sprint(sx) {
			t.Fatalf("%s: fast %v %d %v %v, slow %v %d %v %v", body, x, n, single, ok, sx, sn, ssingle, err)
		}
	}
	// Not JSON, or not the usual shape: the fast path must leave all of these to the slow one.
	for _, body := range []string{
		`{"features":[1,,2,3,4]}`, `{"features":[01,2,3,4]}`, `{"features":[1.,2,3,4]}`, `{"features":[.5,2,3,4]}`,
		`{"features":[+1,2,3,4]}`, `{"features":[1e,2,3,4]}`, `{"features":[-,2,3,4]}`, `{"features":[1 2,3,4]}`,
		`{"features":[1,2,3,4,]}`, `{"features":[1,2,3,4]}x`, `{"features":[1,2,3,4],}`, `{"features":[1,2,3,4]}{}`,
		`{"features":[1,2,3]}`, `{"features":[1,2,3,4,5]}`, `{"features":[[1,2,3,4],]}`, `{"features":[[1,2,3,4][5,6,7,8]]}`,
		`{"features":[]}`, `{"features":[[]]}`, `{"features":[1,2,3,1e39]}`, `{"features":[1,2,3,1e400]}`, `{"features":[NaN,2,3,4]}`,
		`{"Features":[1,2,3,4]}`, `{"feat\u0075res":[1,2,3,4]}`, `{"features":[1,2,3,4],"x":1}`, `{"features":[1,2,3,0x1]}`,
		`{"features":[1,2,3,4]`, `{"features":[1,2,3,4}`, `{"features":[1,null,3,4]}`, `{"features":[[1,2,3,4],5]}`, ``, `[]`,
		`{"features":[1,2,3,Infinity]}`, `{"features":[1,2,3,4_0]}`,
	} {
		if _, _, _, ok := fastFeatures([]byte(body), 4); ok {
			t.Errorf("fast path accepted %s", body)
		}
	}
}

// FuzzFastFeatures checks that whatever the fast path accepts, encoding/json reads the same.
func FuzzFastFeatures(f *testing.F) {
	m, _, _ := trained(f, head.Arch{}, 4, 2)
	for _, s := range []string{`{"features":[1,2,3,4]}`, `{"features":[[1,2,3,4],[0,0,0,0]]}`, ` {"features" :[ -1.5e-3 ,0,1E+2, 7]} `,
		`{"features":[1,2,3,0.1e1]}`, `{"features":[[1,2,3,4]]}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		x, n, single, ok := fastFeatures(body, 4)
		if !ok {
			return
		}
		sx, sn, ssingle, err := slowFeatures(body, m)
		if err != nil || n != sn || single != ssingle || len(x) != len(sx) {
			t.Fatalf("%q: fast read %d rows %v, slow: %v %d rows", body, n, x, err, sn)
		}
		for i := range x {
			if math.Float32bits(x[i]) != math.Float32bits(sx[i]) {
				t.Fatalf("%q: value %d: fast %v, slow %v", body, i, x[i], sx[i])
			}
		}
	})
}

// BenchmarkParse reads one 480-d row, the common request.
func BenchmarkParse(b *testing.B) {
	m, _, ds := trained(b, head.Arch{}, 480, 7)
	body := mustJSON(map[string]any{"features": ds.X[:ds.D]})
	b.Run("fast", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, ok := fastFeatures(body, m.D); !ok {
				b.Fatal("fast path refused a plain row")
			}
		}
	})
	b.Run("encoding-json", func(b *testing.B) {
		for b.Loop() {
			if _, _, _, err := slowFeatures(body, m); err != nil {
				b.Fatal(err)
			}
		}
	})
}
