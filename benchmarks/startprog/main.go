// Command startprog is the benchmark's program: it does a fixed amount of start-up work, prints
// "ready" and exits, so that buildopt startup (to the ready line or the exit) and hyperfine (to
// the exit) time the same thing.
//
//	-work none           exit at once
//	-work cpu -n N       N rounds of SHA-256 over 64 KiB (CPU only, no allocation)
//	-work alloc -n N     build a map of N entries with a string each (many allocations, GC)
package main

import (
	"crypto/sha256"
	"flag"
	"os"
	"strconv"
)

var table map[int]string

func main() {
	work := flag.String("work", "none", "none|cpu|alloc")
	n := flag.Int("n", 0, "how much work")
	flag.Parse()
	switch *work {
	case "cpu":
		buf := make([]byte, 64<<10)
		for i := 0; i < *n; i++ {
			sum := sha256.Sum256(buf)
			buf[i%len(buf)] = sum[0]
		}
	case "alloc":
		table = make(map[int]string)
		for i := 0; i < *n; i++ {
			table[i] = strconv.Itoa(i) + "-entry"
		}
	}
	if *work != "none" {
		os.Stdout.WriteString("ready\n")
	}
}
