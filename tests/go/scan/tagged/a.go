//go:build legacy

package tagged

import "runtime"

func init() { runtime.GOMAXPROCS(4) }
