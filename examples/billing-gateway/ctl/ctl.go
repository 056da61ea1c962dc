// Package ctl is billing-ctl, the gateway's command-line tool: it looks tariffs up and says its
// version. It is a package of its own so that two binaries can run it: billing-ctl itself
// (cmd/billing-ctl) and billing-gateway started under the name billing-ctl (a combined binary).
package ctl

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// tariffs are the plans billing-ctl knows: micro-units per call and per minute.
var tariffs = map[string]struct{ setup, perMin int64 }{
	"home":     {setup: 100, perMin: 1200},
	"roaming":  {setup: 500, perMin: 4800},
	"business": {setup: 0, perMin: 900},
}

const usage = "usage: billing-ctl tariff CODE | billing-ctl version"

// Main runs billing-ctl with args (without the program name) and returns its exit status:
// 0 done, 1 an unknown tariff, 2 bad usage.
func Main(args []string, version string, stdout, stderr io.Writer) int {
	if len(args) == 1 && args[0] == "version" {
		fmt.Fprintf(stdout, "billing-ctl %s\n", version)
		return 0
	}
	if len(args) != 2 || args[0] != "tariff" {
		fmt.Fprintln(stderr, usage)
		return 2
	}
	t, ok := tariffs[args[1]]
	if !ok {
		fmt.Fprintf(stderr, "billing-ctl: no tariff %q (known: %s)\n", args[1], known())
		return 1
	}
	fmt.Fprintf(stdout, "tariff %s setup=%d per_min=%d\n", args[1], t.setup, t.perMin)
	return 0
}

func known() string {
	codes := make([]string, 0, len(tariffs))
	for code := range tariffs {
		codes = append(codes, code)
	}
	sort.Strings(codes)
	return strings.Join(codes, ", ")
}
