//go:build lazyinit

package main

import "sync"

const initMode = "init=lazy"

// tariffs builds the table on first use, not at start-up; GOMAXPROCS is left to the runtime.
var tariffs = sync.OnceValue(buildTariffTable)
