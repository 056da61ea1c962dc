//go:build dynamic

package main

import "reflect"

// lookup asks for a method by a name known only at run time: the linker keeps every exported
// method of every type it can convert to an interface.
func lookup(vals []any, name string) int {
	found := 0
	for _, v := range vals {
		if reflect.ValueOf(v).MethodByName(name).IsValid() {
			found++
		}
	}
	return found
}
