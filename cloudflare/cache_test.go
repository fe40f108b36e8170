package cloudflare

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"

	"finetuner/head"
)

func TestHeadCacheBounds(t *testing.T) {
	c := newHeadCache(100, 3)
	add := func(id string, n int) { c.add(&cachedHead{id: id, file: make([]byte, n)}) }
	add("a", 40)
	add("b", 40)
	if c.get("a") == nil { // a is now the most recently used
		t.Fatal("a missing")
	}
	add("c", 40) // 120 bytes > 100: b, the least recently used, goes
	if c.get("b") != nil || c.get("a") == nil || c.get("c") == nil {
		t.Fatalf("byte bound: %+v", c.stats())
	}
	add("d", 5)
	add("e", 5) // 4 heads > 3: a goes (c, d, e were used after it)
	if s := c.stats(); s.Heads != 3 || s.Bytes != 50 || c.get("a") != nil {
		t.Fatalf("count bound: %+v", s)
	}
	add("huge", 101) // larger than the whole bound: not kept, nothing dropped for it
	if s := c.stats(); s.Heads != 3 || c.get("huge") != nil {
		t.Fatalf("oversized head: %+v", s)
	}
	first := &cachedHead{id: "d", file: make([]byte, 5)}
	if got := c.add(first); got == first {
		t.Fatal("a second add of the same id replaced the cached entry")
	}
}

// TestConcurrentPredictsOnCachedHeads runs predicts on two cached heads from many goroutines
// (go test -race): the cached model's inference workspace is shared, so Predict is serialised
// per head, and every answer must equal the one a lone request gets.
func TestConcurrentPredictsOnCachedHeads(t *testing.T) {
	kv := NewMemKV()
	h := New(kv)
	type headCase struct {
		path string
		body []byte
		want string
	}
	var cases []headCase
	for _, d := range []int{6, 9} {
		_, b, ds := trained(t, head.Arch{Hidden: []int{4}}, d, 3)
		s := share(t, h, b)
		p := "/api/heads/" + s.ID + "/predict"
		body := mustJSON(map[string]any{"features": ds.X[:ds.D]})
		r := do(t, New(kv), "POST", p, "application/json", body) // a lone request on a fresh handler
		if r.code != 200 {
			t.Fatalf("%d %s", r.code, r.body)
		}
		cases = append(cases, headCase{p, body, string(r.body)})
	}
	var wg sync.WaitGroup
	errs := make(chan string, 200)
	for g := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := cases[g%2]
			if r := do(t, h, "POST", c.path, "application/json", c.body); r.code != 200 || string(r.body) != c.want {
				errs <- fmt.Sprintf("goroutine %d: %d %s, want %s", g, r.code, r.body, c.want)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Fatal(e)
	}
	var hl Health
	if err := json.Unmarshal(do(t, h, "GET", "/api/health", "", nil).body, &hl); err != nil || hl.Cache.Heads != 2 || hl.Cache.Hits < 200 || hl.Served < 202 {
		t.Fatalf("health after the run: %+v (%v)", hl, err)
	}
	if _, ok, _ := kv.Get(context.Background(), keyPrefix+cases[0].path[len("/api/heads/"):len("/api/heads/")+IDLen]); !ok {
		t.Fatal("shared head not in KV")
	}
}
