package zero

import "runtime"

// Procs only asks: GOMAXPROCS(0) queries the current value.
func Procs() int { return runtime.GOMAXPROCS(0) }

// Reads only asks too: any n < 1 leaves the setting as it is (seen on a real server).
func Reads() int { return runtime.GOMAXPROCS(-1) }
