//go:build !js

package backbone

import "syscall"

// cpuSeconds returns the CPU time (user + system) this process has used: on a shared machine it
// measures the work of a benchmark better than the wall clock does.
func cpuSeconds() float64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return float64(ru.Utime.Sec+ru.Stime.Sec) + float64(ru.Utime.Usec+ru.Stime.Usec)/1e6
}
