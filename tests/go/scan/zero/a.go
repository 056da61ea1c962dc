package zero

import "runtime"

// Procs only asks: GOMAXPROCS(0) queries the current value.
func Procs() int { return runtime.GOMAXPROCS(0) }
