package numcpu

import "runtime"

func Setup() {
	runtime.GOMAXPROCS(runtime.NumCPU())
}
