package pkglevel

import "runtime"

var previous = runtime.GOMAXPROCS(6)
