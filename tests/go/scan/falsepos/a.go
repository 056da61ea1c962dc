package falsepos

import "fmt"

// runtime.GOMAXPROCS(64) in a comment is not a call.
const text = "runtime.GOMAXPROCS(64)"

type runtimeLike struct{}

func (runtimeLike) GOMAXPROCS(n int) int { return n }

func Say() {
	var runtime runtimeLike
	fmt.Println(text, runtime.GOMAXPROCS(2))
}
