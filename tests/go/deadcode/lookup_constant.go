//go:build !dynamic && !template && !plugin

package main

import "reflect"

// lookup asks for a method by a constant name: the linker keeps the methods of that name only.
func lookup(vals []any, name string) int {
	found := 0
	for _, v := range vals {
		if reflect.ValueOf(v).MethodByName("Lookup").IsValid() && name != "" {
			found++
		}
	}
	return found
}
