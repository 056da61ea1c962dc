package flagged

import (
	"flag"
	"runtime"
)

// As a real metrics exporter does: GOMAXPROCS from a flag whose default caps it at 1.
var procs = flag.Int("procs", 1, "the GOMAXPROCS to use")

// A flag whose default leaves GOMAXPROCS alone.
var maybe = flag.Int("maybe-procs", 0, "GOMAXPROCS, if set")

func Apply() {
	runtime.GOMAXPROCS(*procs)
	runtime.GOMAXPROCS(*maybe)
}
