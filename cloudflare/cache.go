package cloudflare

import (
	"container/list"
	"sync"

	"finetuner/head"
)

const (
	// MaxCacheBytes bounds the head files kept decoded in memory. A Worker isolate has 128 MB;
	// the Go heap of the API itself is a few MB, and a decoded head takes about its file size.
	MaxCacheBytes = 32 << 20
	// MaxCacheHeads bounds their number, whatever their size.
	MaxCacheHeads = 256
)

// cachedHead is one decoded head with its file. mu serialises Predict, whose inference
// workspace belongs to the model.
type cachedHead struct {
	id    string
	file  []byte
	model *head.Model
	mu    sync.Mutex
}

// headCache keeps the most recently used heads of one Worker isolate, decoded, so a warm
// predict reads neither KV nor the safetensors file. Heads are keyed by content hash, so an
// entry is never stale; only the least recently used one is dropped when a bound is reached.
type headCache struct {
	mu         sync.Mutex
	maxBytes   int
	maxHeads   int
	bytes      int
	order      *list.List // front: most recently used; values are *cachedHead
	byID       map[string]*list.Element
	hits, miss int
}

func newHeadCache(maxBytes, maxHeads int) *headCache {
	return &headCache{maxBytes: maxBytes, maxHeads: maxHeads, order: list.New(), byID: map[string]*list.Element{}}
}

// get returns the head with the given id, or nil.
func (c *headCache) get(id string) *cachedHead {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.byID[id]
	if !ok {
		c.miss++
		return nil
	}
	c.hits++
	c.order.MoveToFront(e)
	return e.Value.(*cachedHead)
}

// add keeps h, dropping the least recently used heads beyond the bounds. A head larger than
// the whole byte bound is not kept at all. It returns the entry to use: an earlier one for the
// same id if two requests loaded it at once.
func (c *headCache) add(h *cachedHead) *cachedHead {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.byID[h.id]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cachedHead)
	}
	if len(h.file) > c.maxBytes {
		return h
	}
	c.byID[h.id] = c.order.PushFront(h)
	c.bytes += len(h.file)
	for c.bytes > c.maxBytes || c.order.Len() > c.maxHeads {
		e := c.order.Back()
		old := c.order.Remove(e).(*cachedHead)
		delete(c.byID, old.id)
		c.bytes -= len(old.file)
	}
	return h
}

// CacheStats is what the head cache holds and how often it answered.
type CacheStats struct {
	Heads    int `json:"heads"`
	Bytes    int `json:"bytes"`
	MaxBytes int `json:"maxBytes"`
	MaxHeads int `json:"maxHeads"`
	Hits     int `json:"hits"`
	Misses   int `json:"misses"`
}

func (c *headCache) stats() CacheStats {
	c.mu.Lock()
	defer c.mu.Unlock()
	return CacheStats{c.order.Len(), c.bytes, c.maxBytes, c.maxHeads, c.hits, c.miss}
}
