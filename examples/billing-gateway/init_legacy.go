//go:build !lazyinit

package main

import "runtime"

const initMode = "init=eager"

var tariffTable map[string]Tariff

// The legacy start-up path: pin GOMAXPROCS by hand and build the whole tariff table before
// main runs. Since Go 1.25 the hand-set value also switches off the runtime's
// container-aware GOMAXPROCS. Build with -tags lazyinit for the fixed version.
func init() {
	runtime.GOMAXPROCS(64)
	tariffTable = buildTariffTable()
}

func tariffs() map[string]Tariff { return tariffTable }
