//go:build plugin

package main

import "plugin"

// lookup opens a plugin when given one: with cgo the linker links dynamically.
func lookup(vals []any, name string) int {
	if p, err := plugin.Open(name); err == nil && p != nil {
		return len(vals)
	}
	return 0
}
