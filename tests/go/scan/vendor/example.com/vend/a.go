package vend

import "runtime"

func init() { runtime.GOMAXPROCS(99) }
