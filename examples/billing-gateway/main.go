// Command billing-gateway is a small stand-in for a telecom billing gateway: an HTTP server on
// loopback that rates call minutes against a tariff table. It exists so that buildopt's variants
// have something real to build, inspect and start.
//
// Usage:
//
//	billing-gateway [--addr 127.0.0.1:8080] [--check]
//
// Started under the name billing-ctl (a link to it), it is billing-ctl instead (package ctl):
// one combined binary for the daemon and its command-line tool.
//
// It prints one line starting with "ready" once it can serve (after the listener is bound).
// With --check it initialises, prints the ready line and exits 0.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"os/user"
	"path/filepath"
	"runtime"
	"strconv"
	"syscall"
	"time"

	"example.com/billing-gateway/ctl"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if filepath.Base(os.Args[0]) == "billing-ctl" {
		os.Exit(ctl.Main(os.Args[1:], version, os.Stdout, os.Stderr))
	}
	addr := flag.String("addr", "127.0.0.1:8080", "listen address (loopback by default)")
	check := flag.Bool("check", false, "initialise, print the ready line and exit")
	flag.Parse()

	operator := "unknown"
	if u, err := user.Current(); err == nil { // os/user: libc's getpwuid_r when cgo is on
		operator = u.Username
	}
	if *check {
		fmt.Printf("ready version=%s mode=check operator=%s gomaxprocs=%d %s\n",
			version, operator, runtime.GOMAXPROCS(0), initMode)
		return
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "billing-gateway:", err)
		os.Exit(1)
	}
	srv := &http.Server{Handler: routes(), ReadHeaderTimeout: 5 * time.Second}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt) // before "ready": a stop may follow at once
	fmt.Printf("ready version=%s addr=%s operator=%s gomaxprocs=%d %s\n",
		version, ln.Addr(), operator, runtime.GOMAXPROCS(0), initMode)

	go func() {
		<-stop
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "billing-gateway:", err)
		os.Exit(1)
	}
}

func routes() *http.ServeMux {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /rate", rate)
	registerExtra(mux)
	return mux
}

// rate answers /rate?plan=plan-000042&zone=7&minutes=12 with the charge in micro-units.
func rate(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	zone, _ := strconv.Atoi(q.Get("zone"))
	minutes, err := strconv.Atoi(q.Get("minutes"))
	if err != nil || minutes < 0 {
		http.Error(w, "minutes: expected a whole number", http.StatusBadRequest)
		return
	}
	t, ok := tariffs()[tariffKey(q.Get("plan"), zone)]
	if !ok {
		http.Error(w, "no such plan/zone", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"plan": t.Plan, "zone": t.Zone, "minutes": minutes, "charge": t.Charge(minutes),
	})
}
