//go:build !js

package main

import (
	"bytes"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// On a shared machine wall time swings with everyone else's load; CPU time much less. The bench
// page asks GET /__cpu before and after each timed run, and the driver answers with the CPU time
// (user + system) that the browser's renderer processes have used so far, read from /proc. The
// bench page and its worker live in one renderer, so the difference is that run's CPU time, plus
// whatever V8's helper threads (garbage collection, wasm tier-up) did meanwhile.

// clockTick is USER_HZ, the unit of utime and stime in /proc/<pid>/stat (100 on Linux).
const clockTick = 100

// rendererCPU returns the summed CPU ms of the renderer processes of the browser whose profile
// directory is profile, or -1 if /proc cannot tell.
func rendererCPU(profile string) float64 {
	procs, err := os.ReadDir("/proc")
	if err != nil {
		return -1
	}
	type proc struct {
		ppid     int
		ticks    float64
		renderer bool
	}
	all := map[int]proc{}
	browser := 0
	for _, e := range procs {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		cmd, err := os.ReadFile(filepath.Join("/proc", e.Name(), "cmdline"))
		if err != nil || !bytes.Contains(cmd, []byte("chrom")) {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// Fields after the parenthesised command: state ppid ... utime (14th) stime (15th).
		i := bytes.LastIndexByte(st, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(st[i+1:]))
		if len(f) < 13 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		ut, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		all[pid] = proc{ppid: ppid, ticks: ut + stime, renderer: bytes.Contains(cmd, []byte("--type=renderer"))}
		if bytes.Contains(cmd, []byte("--user-data-dir="+profile)) && !bytes.Contains(cmd, []byte("--type=")) {
			browser = pid
		}
	}
	if browser == 0 {
		return -1
	}
	var ticks float64
	for pid, p := range all {
		if !p.renderer {
			continue
		}
		// Count the renderer if the browser is among its ancestors (zygote processes sit between).
		for q, n := p.ppid, 0; q > 1 && n < 8; n++ {
			if q == browser {
				ticks += p.ticks
				break
			}
			q = all[q].ppid
		}
		_ = pid
	}
	return ticks * 1000 / clockTick
}

// cpuHandler serves /__cpu for the browser with that profile.
func cpuHandler(profile string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]float64{"ms": rendererCPU(profile)})
	})
}
