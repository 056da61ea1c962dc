// Command health-agent is the second service of the example base-station image: a small
// watchdog beside the billing gateway. Every --every it asks the gateway's /healthz and reads
// the node's load; it serves what it saw on its own /healthz (for the operator's monitoring)
// and exits non-zero after --failures consecutive failed checks, so that the init system
// restarts the pair.
//
// Usage:
//
//	health-agent [--addr 127.0.0.1:9090] [--gateway http://127.0.0.1:8080/healthz]
//	             [--every 5s] [--failures 3] [--once]
//
// It prints one line starting with "ready" once it can serve. With --once it checks the
// gateway once, prints the result and exits 0 (up) or 1 (down).
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
	"strings"
	"sync"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

type status struct {
	Gateway   string    `json:"gateway"`
	Up        bool      `json:"up"`
	Error     string    `json:"error,omitempty"`
	Load      string    `json:"load,omitempty"`
	CheckedAt time.Time `json:"checked_at"`
	Failures  int       `json:"consecutive_failures"`
}

type agent struct {
	mu     sync.Mutex
	last   status
	client *http.Client
	url    string
}

func (a *agent) check(ctx context.Context) status {
	s := status{Gateway: a.url, CheckedAt: time.Now().UTC(), Load: loadAverage()}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.url, nil)
	if err == nil {
		var resp *http.Response
		resp, err = a.client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				err = fmt.Errorf("status %s", resp.Status)
			}
		}
	}
	s.Up = err == nil
	if err != nil {
		s.Error = err.Error()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if s.Up {
		s.Failures = 0
	} else {
		s.Failures = a.last.Failures + 1
	}
	a.last = s
	return s
}

func (a *agent) serveHealth(w http.ResponseWriter, _ *http.Request) {
	a.mu.Lock()
	s := a.last
	a.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	if !s.Up {
		w.WriteHeader(http.StatusServiceUnavailable)
	}
	_ = json.NewEncoder(w).Encode(s)
}

// loadAverage is the first three fields of /proc/loadavg ("" where there is none).
func loadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	fields := strings.Fields(string(data))
	if len(fields) < 3 {
		return ""
	}
	return strings.Join(fields[:3], " ")
}

func main() {
	addr := flag.String("addr", "127.0.0.1:9090", "listen address (loopback by default)")
	gateway := flag.String("gateway", "http://127.0.0.1:8080/healthz", "the gateway's health URL")
	every := flag.Duration("every", 5*time.Second, "time between checks")
	failures := flag.Int("failures", 3, "consecutive failed checks before exiting 1")
	once := flag.Bool("once", false, "check once, print the result, exit 0 (up) or 1 (down)")
	flag.Parse()

	a := &agent{client: &http.Client{Timeout: 2 * time.Second}, url: *gateway}
	if *once {
		s := a.check(context.Background())
		_ = json.NewEncoder(os.Stdout).Encode(s)
		if !s.Up {
			os.Exit(1)
		}
		return
	}

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "health-agent:", err)
		os.Exit(1)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.serveHealth)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	fmt.Printf("ready version=%s addr=%s gateway=%s\n", version, ln.Addr(), *gateway)

	go func() {
		ticker := time.NewTicker(*every)
		defer ticker.Stop()
		for {
			if s := a.check(ctx); s.Failures >= *failures {
				fmt.Fprintf(os.Stderr, "health-agent: gateway down %d times: %s\n", s.Failures, s.Error)
				os.Exit(1)
			}
			select {
			case <-ctx.Done():
				return
			case <-ticker.C:
			}
		}
	}()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(shutdown)
	}()
	if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintln(os.Stderr, "health-agent:", err)
		os.Exit(1)
	}
}
