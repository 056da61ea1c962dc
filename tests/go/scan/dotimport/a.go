package dotimport

import . "runtime"

func Start() {
	GOMAXPROCS(16)
}
