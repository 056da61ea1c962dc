// Command hello prints the value set with -X main.v, so tests can check it arrived literally.
package main

import (
	"fmt"
	"os/user"
)

var v = "unset"

func main() {
	name := "?"
	if u, err := user.Current(); err == nil {
		name = u.Username
	}
	fmt.Printf("v=%s user=%s\n", v, name)
}
