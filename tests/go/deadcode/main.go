// A program whose types have many exported methods it never calls: the linker drops them
// unless something turns its method dead-code elimination off. Build tags choose what:
// dynamic (reflect.Value.MethodByName with a name known at run time), template
// (text/template, through package report), plugin (package plugin, with cgo); none: a
// MethodByName with a constant name, which leaves the elimination on. heavy adds types whose
// methods reach more of the standard library.
package main

import (
	"fmt"
	"os"
)

func main() {
	vals := append(values(), heavyValues()...)
	name := "Apply0"
	if len(os.Args) > 1 {
		name = os.Args[1]
	}
	fmt.Println(len(vals), lookup(vals, name))
}
