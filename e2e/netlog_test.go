//go:build !js

package e2e

import (
	"os"
	"path/filepath"
	"testing"
)

// TestNetlogRequests checks the NetLog reader on a hand-made excerpt in the log's own shape,
// including an unterminated end, so the origin assertion of TestApp cannot pass by reading nothing.
func TestNetlogRequests(t *testing.T) {
	log := `{"constants":{},"events":[
{"params":{"initiator":"http://127.0.0.1:5000","load_flags":0,"method":"GET","network_isolation_key":"http://127.0.0.1 http://127.0.0.1","request_type":"other","site_for_cookies":"SiteForCookies: {site=http://127.0.0.1; schemefully_same=true}","url":"http://127.0.0.1:5000/js/main.js"},"phase":1,"source":{"id":7,"type":1},"type":136},
{"params":{"initiator":"not an origin","load_flags":80,"method":"POST","network_isolation_key":"null null","request_type":"other","site_for_cookies":"SiteForCookies: {site=null; schemefully_same=false}","upload_id":"0","url":"https://update.example/x"},"phase":1,"source":{"id":8,"type":1},"type":136},
{"params":{"initiator":"http://127.0.0.1:5000","load_flags":0,"method":"GET","url":"https://cdn.example/lib.js"},"phase":1,"source":{"id":9,"type":1},"type":136},
{"params":{"initiator":"http://127.0.0.1:5000","load_flags":0,"method":"GET","url":"http://127.0.0.1:5000/js/main.js"},"phase":1`
	p := filepath.Join(t.TempDir(), "netlog.json")
	os.WriteFile(p, []byte(log), 0o644)
	got := netlogRequests(t, p)
	want := []netRequest{
		{"http://127.0.0.1:5000", "http://127.0.0.1:5000/js/main.js"},
		{"not an origin", "https://update.example/x"},
		{"http://127.0.0.1:5000", "https://cdn.example/lib.js"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("request %d: got %v, want %v", i, got[i], want[i])
		}
	}
}
