package cloudflare

import (
	"context"
	"sync"
)

// KV is where shared heads are kept: Workers KV in the deployed Worker, MemKV in the native
// tests. Values are whole head files; keys are written once and never change, because a key is
// the hash of its value.
type KV interface {
	// Get returns the value stored under key; ok is false when there is none.
	Get(ctx context.Context, key string) (value []byte, ok bool, err error)
	// Put stores value under key.
	Put(ctx context.Context, key string, value []byte) error
}

// MemKV is a KV held in memory, safe for concurrent use.
type MemKV struct {
	mu   sync.Mutex
	m    map[string][]byte
	puts int
}

// NewMemKV returns an empty MemKV.
func NewMemKV() *MemKV { return &MemKV{m: map[string][]byte{}} }

// Get returns a copy of the value under key.
func (s *MemKV) Get(_ context.Context, key string) ([]byte, bool, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.m[key]
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), v...), true, nil
}

// Put stores a copy of value under key.
func (s *MemKV) Put(_ context.Context, key string, value []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.m[key] = append([]byte(nil), value...)
	s.puts++
	return nil
}

// Puts returns how many times Put was called: the tests use it to check that a repeated upload
// does not write again (Workers KV allows one write per second to a key).
func (s *MemKV) Puts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.puts
}
