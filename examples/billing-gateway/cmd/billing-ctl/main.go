// Command billing-ctl looks up the billing gateway's tariffs (see package ctl). The gateway's
// own binary runs the same code when it is started as billing-ctl (a link to it).
//
// Usage:
//
//	billing-ctl tariff CODE
//	billing-ctl version
package main

import (
	"os"

	"example.com/billing-gateway/ctl"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	os.Exit(ctl.Main(os.Args[1:], version, os.Stdout, os.Stderr))
}
