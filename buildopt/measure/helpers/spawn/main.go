// Command spawn starts the program a start-up measurement times, reports its resource usage,
// and ends everything the program started.
//
// Linux charges a process that calls exec with the peak RSS of the memory it had before: a
// program started straight from the measuring Python process would report Python's peak as its
// own. spawn is small; the program it forks and execs inherits only spawn's few MiB.
//
// Usage: spawn FD PROGRAM [ARGS...], where FD is the write end of a pipe on which it writes
//
//	start <pid> <monotonic ns before fork>
//	exit <monotonic ns after wait> <wait status> <user us> <system us> <max rss KiB> <left>
//
// where left is how many processes the program left running (see below).
//
// spawn is a child subreaper (PR_SET_CHILD_SUBREAPER): a process the program starts that
// leaves its process group and outlives its parent - a daemon, `setsid` - becomes spawn's
// child instead of init's. After the program itself has exited, spawn keeps running while
// such processes do (a daemonizing server's real work happens in them), and on SIGTERM or
// SIGINT ends them all: SIGTERM to each and to its process group, then SIGKILL after a second,
// over and over until none is left. Then it exits. Before the program has exited, SIGTERM and
// SIGINT are caught, not ignored, so that the program gets them with their default action
// after exec, and spawn goes on waiting for it.
//
// If buildopt dies without stopping it (kill -9), spawn learns it from PR_SET_PDEATHSIG
// (SIGUSR1) and kills the program's process group and everything the program left, then exits:
// nothing of a measurement outlives the process that measures.
package main

import (
	"fmt"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	"unsafe"
)

const (
	clockMonotonic      = 1
	prSetPdeathsig      = 1
	prSetChildSubreaper = 36
)

func monotonic() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// children lists the processes whose parent is this one (the subreaper's adopted orphans and
// anything else it started), from /proc.
func children() []int {
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var found []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'
		text := string(stat)
		end := strings.LastIndexByte(text, ')')
		if end < 0 {
			continue
		}
		fields := strings.Fields(text[end+1:])
		if len(fields) < 2 || fields[0] == "Z" {
			continue // a zombie is ended already; the reaper collects it
		}
		if ppid, err := strconv.Atoi(fields[1]); err == nil && ppid == self {
			found = append(found, pid)
		}
	}
	return found
}

// signalAll sends sig to every child and to its process group.
func signalAll(sig syscall.Signal) int {
	kids := children()
	for _, pid := range kids {
		syscall.Kill(-pid, sig) // its group, if it leads one (a daemon after setsid)
		syscall.Kill(pid, sig)
	}
	return len(kids)
}

// reap collects every child that ends until there are none; done is closed then.
func reap(done chan<- struct{}) {
	var status syscall.WaitStatus
	for {
		_, err := syscall.Wait4(-1, &status, 0, nil)
		if err == syscall.ECHILD {
			close(done)
			return
		}
	}
}

// endAll stops the processes the program left: SIGTERM, a second's grace, then SIGKILL until
// none is left (killing one hands its own children to this subreaper).
func endAll(done <-chan struct{}) {
	signalAll(syscall.SIGTERM)
	select {
	case <-done:
		return
	case <-time.After(time.Second):
	}
	for signalAll(syscall.SIGKILL) > 0 {
		select {
		case <-done:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
	<-done
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
	stop := make(chan os.Signal, 4)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	orphaned := make(chan os.Signal, 1)
	signal.Notify(orphaned, syscall.SIGUSR1)
	parent := os.Getppid()
	syscall.RawSyscall(syscall.SYS_PRCTL, prSetPdeathsig, uintptr(syscall.SIGUSR1), 0)
	if os.Getppid() != parent { // buildopt died before the request took effect
		os.Exit(1)
	}
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		fmt.Fprintln(os.Stderr, "spawn: cannot become a child subreaper:", errno)
	}
	start := monotonic()
	attr := &syscall.ProcAttr{Env: os.Environ(), Files: []uintptr{0, 1, 2}}
	pid, err := syscall.ForkExec(os.Args[2], os.Args[2:], attr)
	if err != nil {
		fmt.Fprintf(report, "error %d %s\n", int(err.(syscall.Errno)), err)
		os.Exit(127)
	}
	fmt.Fprintf(report, "start %d %d\n", pid, start)
	go func() {
		<-orphaned // buildopt is gone: end the program, its group and what it left
		syscall.Kill(pid, syscall.SIGKILL)
		for signalAll(syscall.SIGKILL) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		syscall.Kill(0, syscall.SIGKILL) // this process group, spawn included
	}()
	var status syscall.WaitStatus
	var usage syscall.Rusage
	for {
		_, err = syscall.Wait4(pid, &status, 0, &usage)
		if err != syscall.EINTR {
			break
		}
	}
	end := monotonic()
	left := len(children())
	fmt.Fprintf(report, "exit %d %d %d %d %d %d\n", end, uint32(status),
		usage.Utime.Sec*1_000_000+int64(usage.Utime.Usec),
		usage.Stime.Sec*1_000_000+int64(usage.Stime.Usec), usage.Maxrss, left)
	done := make(chan struct{})
	go reap(done)
	select {
	case <-done: // everything the program started has ended on its own
	case <-stop:
		endAll(done)
	}
}
