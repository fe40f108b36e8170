package backbone

import "syscall/js"

// cpuSeconds returns the CPU time (user + system) of the Node process running the test, from
// process.cpuUsage(); 0 outside Node.
func cpuSeconds() float64 {
	p := js.Global().Get("process")
	if p.IsUndefined() || p.Get("cpuUsage").IsUndefined() {
		return 0
	}
	u := p.Call("cpuUsage")
	return (u.Get("user").Float() + u.Get("system").Float()) / 1e6
}
