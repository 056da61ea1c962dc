// A program whose packages own a known amount of strings (blob: 256 KiB) and of type
// descriptors (shapes) - the truth test of buildopt's owners from the linker.
package main

import (
	"fmt"
	"os"

	"example.com/owners/blob"
	"example.com/owners/shapes"
)

func main() {
	fmt.Println(len(blob.Text(len(os.Args))), len(shapes.All()))
}
