//go:build !js

package main

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// A process whose CPU time the load test reports per request: wrangler dev's ProxyWorker
// runtime, the runtime running the Worker, wrangler itself, or itest (the load generator).
type proc struct{ name, pid string }

// procs are the -cpu processes and itest itself.
func procs() []proc {
	var ps []proc
	if *cpuF != "" {
		for _, kv := range strings.Split(*cpuF, ",") {
			name, pid, ok := strings.Cut(kv, "=")
			if _, err := strconv.Atoi(pid); !ok || err != nil {
				fail("-cpu %q: want name=pid,...", *cpuF)
			}
			ps = append(ps, proc{name, pid})
		}
	}
	return append(ps, proc{"itest", "self"})
}

// cpuTimes returns the CPU time (user + system, ms) each process has used so far, from
// /proc/PID/stat; -1 where it cannot be read (no /proc, or the process is gone).
func cpuTimes(ps []proc) []float64 {
	t := make([]float64, len(ps))
	for i, p := range ps {
		t[i] = -1
		b, err := os.ReadFile("/proc/" + p.pid + "/stat")
		if err != nil {
			continue
		}
		// The fields after the command name, which is in parentheses and may hold spaces:
		// utime and stime are fields 14 and 15 of the line, in clock ticks.
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		u, err1 := strconv.ParseFloat(f[11], 64)
		k, err2 := strconv.ParseFloat(f[12], 64)
		if err1 == nil && err2 == nil {
			t[i] = (u + k) * 1000 / clockTicks
		}
	}
	return t
}

// clockTicks is Linux's USER_HZ, the unit of /proc/PID/stat's times, on every architecture Go
// runs Linux on.
const clockTicks = 100

// cpuPerRequest formats each process's CPU time between two cpuTimes calls, per request.
func cpuPerRequest(ps []proc, t0, t1 []float64, n int) string {
	var parts []string
	for i, p := range ps {
		if t0[i] < 0 || t1[i] < 0 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", p.name, (t1[i]-t0[i])/float64(n)))
	}
	return "CPU ms per request: " + strings.Join(parts, ", ")
}
