//go:build !js

package main

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"time"

	"finetuner/cloudflare"
	"finetuner/head"
	"finetuner/kernels"
)

// traceHeader is echoed by the Worker from the request's own scope (cloudflare/wasm).
const traceHeader = "X-Finetuner-Trace"

// coldStart times the first API request, which starts the Worker's Go program (test-cloudflare.sh
// waits for wrangler with a static file, which never reaches Go), then checks that the next
// requests are served by that same program and times them.
func coldStart() {
	t0 := time.Now()
	h := health()
	cold := time.Since(t0)
	if h.Served != 1 {
		fail("first /api/health: the Go program had already served %d requests; this is not a cold start (wait for wrangler with a static file)", h.Served-1)
	}
	const n = 20
	lat := make([]time.Duration, n)
	for i := range n {
		t0 := time.Now()
		h := health()
		lat[i] = time.Since(t0)
		if h.Served != int64(i+2) {
			fail("/api/health %d: the Go program says it served %d requests, want %d: it was not started once for the isolate", i+2, h.Served, i+2)
		}
	}
	slices.Sort(lat)
	fmt.Printf("itest: cold start: the first API request took %.1f ms (starting Go); the next %d, served by the same Go program, a median of %.1f ms\n",
		ms(cold), n, ms(quantile(lat, 0.5)))
}

func health() cloudflare.Health {
	_, b := get("/api/health", 200)
	var h cloudflare.Health
	if json.Unmarshal(b, &h) != nil || h.Service != "finetuner" {
		fail("/api/health: %s", b)
	}
	return h
}

// randomHead returns a valid head file with random weights, and the head itself.
func randomHead(seed uint64, d int, labels []string) (*head.Model, []byte) {
	rng := kernels.NewRNG(seed)
	m, err := head.NewModel(head.Arch{}, d, labels, &rng)
	check(err)
	b, err := m.MarshalSafetensors()
	check(err)
	return m, b
}

// isolation sends rounds of four different requests at once to the one Go program: a predict
// on the shared head (no await inside Go: the head is cached), a predict on a second head of
// another size and labels, a fetch of a head that does not exist (awaits a KV read), and the
// upload of a new head (awaits a KV read and a write). Each carries its own trace; each answer
// must carry that trace and be the right answer for its own request, so a request that picked
// up another one's scope, head or body while they interleave fails.
func isolation(id string, x []float32, n, d int, labels []string, want [][]float64) {
	const rounds = 60
	m2, b2 := randomHead(1, 16, []string{"left", "right", "up"})
	r, body := do("POST", "/api/heads", "application/octet-stream", b2)
	if r.StatusCode != 201 {
		fail("upload of a second head: %d %s", r.StatusCode, body)
	}
	id2 := cloudflare.ContentID(b2)
	x2 := make([]float32, 16)
	for i := range x2 {
		x2[i] = float32(i%5) - 2
	}
	want2 := make([]float32, 3)
	check(m2.Predict(want2, x2, 1))
	body2, _ := json.Marshal(map[string]any{"features": x2})

	check1 := func(row int) func(int, []byte) error {
		return func(status int, out []byte) error {
			var p cloudflare.Prediction
			if status != 200 || json.Unmarshal(out, &p) != nil || len(p.Probabilities) != len(labels) {
				return fmt.Errorf("predict on head 1: %d %.200s", status, out)
			}
			for c, v := range p.Probabilities {
				if !(math.Abs(float64(v)-want[row][c]) <= tol) {
					return fmt.Errorf("predict on head 1, row %d: class %d %v, want %v", row, c, v, want[row][c])
				}
			}
			return nil
		}
	}
	check2 := func(status int, out []byte) error {
		var p cloudflare.Prediction
		if status != 200 || json.Unmarshal(out, &p) != nil || strings.Join(p.Labels, ",") != "left,right,up" {
			return fmt.Errorf("predict on head 2: %d %.200s", status, out)
		}
		for c, v := range p.Probabilities {
			if !(math.Abs(float64(v-want2[c])) <= 1e-6) {
				return fmt.Errorf("predict on head 2: class %d %v, want %v", c, v, want2[c])
			}
		}
		return nil
	}
	type req struct {
		method, path, ctype string
		body                []byte
		check               func(int, []byte) error
	}
	worst := time.Duration(0)
	for round := range rounds {
		row := round % n
		_, fresh := randomHead(uint64(1000+round), 8, []string{"a", "b"})
		freshID := cloudflare.ContentID(fresh)
		missing := fmt.Sprintf("%032x", 0xdead0000+round)
		body1, _ := json.Marshal(map[string]any{"features": x[row*d : (row+1)*d]})
		reqs := []req{
			{"POST", "/api/heads/" + id + "/predict", "application/json", body1, check1(row)},
			{"POST", "/api/heads/" + id2 + "/predict", "application/json", body2, check2},
			{"GET", "/api/heads/" + missing, "", nil, func(status int, out []byte) error {
				if status != 404 || !strings.Contains(string(out), missing) {
					return fmt.Errorf("missing head: %d %.200s", status, out)
				}
				return nil
			}},
			{"POST", "/api/heads", "application/octet-stream", fresh, func(status int, out []byte) error {
				var s cloudflare.Shared
				if status != 201 || json.Unmarshal(out, &s) != nil || s.ID != freshID || strings.Join(s.Labels, ",") != "a,b" {
					return fmt.Errorf("upload: %d %.200s, want 201 and id %s", status, out, freshID)
				}
				return nil
			}},
		}
		var wg sync.WaitGroup
		errs := make([]error, len(reqs))
		startGate := make(chan struct{})
		t0 := time.Now()
		for k, q := range reqs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-startGate
				trace := fmt.Sprintf("iso-%d-%d", round, k)
				r, out, err := traced(q.method, q.path, q.ctype, q.body, trace)
				switch {
				case err != nil:
					errs[k] = err
				case r.Header.Get(traceHeader) != trace:
					errs[k] = fmt.Errorf("answered with trace %q, sent %q", r.Header.Get(traceHeader), trace)
				default:
					errs[k] = q.check(r.StatusCode, out)
				}
			}()
		}
		close(startGate)
		wg.Wait()
		worst = max(worst, time.Since(t0))
		for k, err := range errs {
			if err != nil {
				fail("isolation, round %d, request %d (%s %s): %v", round, k, reqs[k].method, reqs[k].path, err)
			}
		}
	}
	h := health()
	if h.Cache.Heads < 2 || h.Cache.Heads > h.Cache.MaxHeads || h.Cache.Bytes > h.Cache.MaxBytes || h.Cache.Hits == 0 {
		fail("head cache after the isolation rounds: %+v", h.Cache)
	}
	fmt.Printf("itest: isolation: %d rounds of 4 concurrent requests (two heads' predicts, a KV miss, an upload) on one Go program: every answer carried its own trace and was right (slowest round %.1f ms); head cache %d heads, %d bytes, %d hits, %d misses\n",
		rounds, ms(worst), h.Cache.Heads, h.Cache.Bytes, h.Cache.Hits, h.Cache.Misses)
}
