// Command spawn starts the program a start-up measurement times, and reports its resource usage.
//
// Linux charges a process that calls exec with the peak RSS of the memory it had before: a
// program started straight from the measuring Python process would report Python's peak as its
// own. spawn is small; the program it forks and execs inherits only spawn's few MiB.
//
// Usage: spawn FD PROGRAM [ARGS...], where FD is the write end of a pipe on which it writes
//
//	start <pid> <monotonic ns before fork>
//	exit <monotonic ns after wait> <wait status> <user us> <system us> <max rss KiB>
//
// It waits for the program whatever signal it gets (SIGTERM and SIGINT are caught, not
// ignored, so that the program gets them with their default action after exec).
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"unsafe"
)

const clockMonotonic = 1

func monotonic() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: spawn FD PROGRAM [ARGS...]")
		os.Exit(2)
	}
	fd, err := strconv.Atoi(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "spawn: FD must be a number:", err)
		os.Exit(2)
	}
	report := os.NewFile(uintptr(fd), "report")
	syscall.CloseOnExec(fd) // the program must not inherit (or hold open) the report pipe
	signal.Notify(make(chan os.Signal, 4), syscall.SIGTERM, syscall.SIGINT)
	start := monotonic()
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}}
	pid, err := syscall.ForkExec(os.Args[2], os.Args[2:], attr)
	if err != nil {
		fmt.Fprintf(report, "error %d %s\n", int(err.(syscall.Errno)), err)
		os.Exit(127)
	}
	fmt.Fprintf(report, "start %d %d\n", pid, start)
	var status syscall.WaitStatus
	var usage syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &status, 0, &usage)
		if err != syscall.EINTR {
			break
		}
	}
	end := monotonic()
	fmt.Fprintf(report, "exit %d %d %d %d %d\n", end, uint32(status),
		usage.Utime.Sec*1_000_000+int64(usage.Utime.Usec),
		usage.Stime.Sec*1_000_000+int64(usage.Stime.Usec), usage.Maxrss)
}
