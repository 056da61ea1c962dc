package constant

import "runtime"

const procs = 4 * 2

func init() {
	runtime.GOMAXPROCS(64)
}

func Configure() {
	runtime.GOMAXPROCS(procs)
}
