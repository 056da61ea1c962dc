package dynamic

import (
	"os"
	"runtime"
	"strconv"
)

func Apply() {
	n, _ := strconv.Atoi(os.Getenv("PROCS"))
	runtime.GOMAXPROCS(n)
}
