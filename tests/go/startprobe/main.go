// Command startprobe behaves in the ways buildopt startup must handle: ready after a delay on
// stdout, stderr or a port, exit, print its argv[0] and exit, crash, never ready, ignore SIGTERM
// with a child of its own, or
// daemonize: start a copy of itself in a session of its own (setsid, stdio closed) that does
// the work (-mode of the copy: -then), and exit at once. With -record FILE, each start first
// appends a line to FILE saying how it was started: its GODEBUG and where its stdout goes.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"runtime"
	"strings"
	"syscall"
	"time"
)

var sink [][]byte

func main() {
	mode := flag.String("mode", "exit", "ready|ready-stderr|port|exit|crash|never|ignore-term|env|argv0|daemon")
	delay := flag.Duration("delay", 0, "wait this long before being ready")
	port := flag.Int("port", 0, "port for -mode port")
	alloc := flag.Int("alloc", 0, "MiB to allocate before ready")
	then := flag.String("then", "never", "the mode of the daemon, with -mode daemon")
	record := flag.String("record", "", "append how this start was made to this file")
	flag.Parse()
	if *record != "" {
		stdout, _ := os.Readlink("/proc/self/fd/1")
		godebug, set := os.LookupEnv("GODEBUG")
		if !set {
			godebug = "(unset)"
		}
		line := fmt.Sprintf("GODEBUG=%s stdout=%s\n", godebug, strings.SplitN(stdout, ":", 2)[0])
		f, err := os.OpenFile(*record, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		f.WriteString(line)
		f.Close()
	}
	for i := 0; i < *alloc; i++ {
		sink = append(sink, make([]byte, 1<<20))
		for j := range sink[i] {
			sink[i][j] = byte(j)
		}
	}
	time.Sleep(*delay)
	switch *mode {
	case "exit":
		fmt.Println("done")
	case "env":
		fmt.Printf("GODEBUG=%s GOMAXPROCS=%d\n", os.Getenv("GODEBUG"), runtime.GOMAXPROCS(0))
	case "argv0":
		fmt.Println("argv0=" + os.Args[0])
	case "crash":
		fmt.Fprintln(os.Stderr, "boom: the tariff database is missing")
		os.Exit(3)
	case "ready-stderr":
		fmt.Fprintln(os.Stderr, "listening: ready")
		for {
			time.Sleep(time.Hour)
		}
	case "ready":
		fmt.Println("ready")
		for {
			time.Sleep(time.Hour)
		}
	case "port":
		ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", *port))
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		defer ln.Close()
		for {
			time.Sleep(time.Hour)
		}
	case "never":
		for {
			time.Sleep(time.Hour)
		}
	case "daemon":
		args := []string{"-mode", *then, "-port", fmt.Sprint(*port)}
		child := exec.Command(os.Args[0], args...)
		child.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("daemon", child.Process.Pid)
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		child := exec.Command(os.Args[0], "-mode", "never")
		if err := child.Start(); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		fmt.Println("ready")
		for {
			time.Sleep(time.Hour)
		}
	}
}
