// Command spawn runs the programs a start-up measurement times, one at a time, on request, and
// timestamps what they do with CLOCK_MONOTONIC as it happens: the start (just before the fork),
// each chunk of output (just after the blocking read that returned it), the moment a port
// accepts, and the exit (just after wait4). buildopt reads these reports when it gets to them;
// its own latency is never part of a measured time.
//
// Linux charges a process that calls exec with the peak RSS of the memory it had before: a
// program started straight from the measuring Python process would report Python's peak as its
// own. spawn is small; the programs it forks and execs inherit only its few MiB.
//
// Usage: spawn. Requests arrive on stdin:
//
//	run <pipe|null> <port> <grace ms> <argc> <envc> <length>\n<path, argv and env, each ending in NUL>
//	stop <grace ms>\n
//	evict <length>\n<path ending in NUL>
//
// and reports leave on stdout, one line each:
//
//	start <pid> <ns before fork>
//	error <errno> <message>                    (the run could not start)
//	out <1|2> <ns after read> <length>\n<bytes> (output "pipe": what the program wrote)
//	ready <ns>                                 ("port": the ns just before the connect that worked)
//	exit <ns after wait> <wait status> <user us> <system us> <max rss KiB> <left>
//	alone <ns>                                 (what the program left running has ended too)
//	done <cut>                                 (after stop: nothing of the run is left)
//	evicted <errno> <ns taken> [message]       (after evict: 0, or why the pages stay cached)
//
// "run" execs path with argv (argv[0] is the program's own name, which need not be path) and
// an environment of spawn's own with the env entries ("NAME=value") set over it: on a device
// reached through ssh, the device's environment, not buildopt's. "evict" writes the file's dirty
// pages and drops its pages from the page cache (fdatasync, posix_fadvise DONTNEED) - where the
// measured program is on another machine, only spawn can make its start cold.
//
// A run's program gets stdin from /dev/null and stdout/stderr either on pipes that spawn drains
// and forwards ("pipe") or on /dev/null ("null"), in a process group of its own. "left" is how
// many processes it left running when it exited: spawn is a child subreaper
// (PR_SET_CHILD_SUBREAPER), so a process the program starts that leaves its group and outlives
// its parent - a daemon, `setsid` - becomes spawn's child instead of init's.
//
// "stop" ends the run: SIGTERM to the program's process group, SIGKILL after the grace period,
// then everything the program left: SIGTERM to each and its group, SIGKILL a second later, until
// none is left. It answers "done" once every output byte is forwarded ("done 1": a pipe was
// still held open by a process outside the program's tree; its output was cut). The end of
// stdin, SIGTERM or SIGINT stop the current run the same way and end spawn. Before exec,
// spawn's signal handlers are reset: the program gets every signal with its default action.
//
// If buildopt dies without stopping it (kill -9), spawn learns it from PR_SET_PDEATHSIG
// (SIGUSR1) and kills the program's process group and everything the program left, then exits:
// nothing of a measurement outlives the process that measures.
package main

import (
	"bufio"
	"io"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

const (
	clockMonotonic      = 1
	prSetPdeathsig      = 1
	prSetChildSubreaper = 36
	readChunk           = 64 << 10
	pollEvery           = 500 * time.Microsecond
)

func monotonic() int64 {
	var ts syscall.Timespec
	syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockMonotonic, uintptr(unsafe.Pointer(&ts)), 0)
	return ts.Nano()
}

// reporter writes report lines; a mutex keeps each one (and an output chunk) whole. (No fmt
// and no encoding/json in this program: the fewer pages it touches, the lower the floor it
// puts under the peak RSS of the programs it starts - see main.)
type reporter struct {
	mu   sync.Mutex
	w    *bufio.Writer
	line []byte
}

// say writes one report line: a word, numbers, and an optional text at the end.
func (r *reporter) say(word string, numbers []int64, text string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.put(word, numbers, text)
	r.w.Flush()
}

func (r *reporter) put(word string, numbers []int64, text string) {
	r.line = append(r.line[:0], word...)
	for _, n := range numbers {
		r.line = strconv.AppendInt(append(r.line, ' '), n, 10)
	}
	if text != "" {
		r.line = append(append(r.line, ' '), strings.ReplaceAll(text, "\n", " ")...)
	}
	r.w.Write(append(r.line, '\n'))
}

// output reports a chunk the program wrote: its header line, then the bytes.
func (r *reporter) output(stream int, ns int64, data []byte) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.put("out", []int64{int64(stream), ns, int64(len(data))}, "")
	r.w.Write(data)
	r.w.Flush()
}

type request struct {
	op      string
	argv    []string
	env     []string
	output  string
	port    int
	graceMs int
	path    string
}

// children lists the live processes whose parent is this one (the subreaper's adopted orphans
// and the program), from /proc/self/task/*/children, or from every /proc/N/stat when the kernel
// lacks that file (CONFIG_PROC_CHILDREN).
func children() []int {
	var listed []int
	tasks, err := os.ReadDir("/proc/self/task")
	found := err == nil
	for _, task := range tasks {
		text, err := os.ReadFile("/proc/self/task/" + task.Name() + "/children")
		if err != nil {
			found = false
			break
		}
		for _, word := range strings.Fields(string(text)) {
			if pid, err := strconv.Atoi(word); err == nil {
				listed = append(listed, pid)
			}
		}
	}
	if !found {
		return scanChildren()
	}
	var alive []int
	for _, pid := range listed {
		if state, _ := stat(strconv.Itoa(pid)); state != "Z" && state != "" {
			alive = append(alive, pid)
		}
	}
	return alive
}

// stat gives the state and parent pid of a process from /proc/PID/stat ("" if it is gone).
func stat(pid string) (string, int) {
	text, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return "", 0
	}
	// pid (comm) state ppid ...: comm may hold spaces and parentheses, so parse after the last ')'
	end := strings.LastIndexByte(string(text), ')')
	if end < 0 {
		return "", 0
	}
	fields := strings.Fields(string(text[end+1:]))
	if len(fields) < 2 {
		return "", 0
	}
	ppid, _ := strconv.Atoi(fields[1])
	return fields[0], ppid
}

func scanChildren() []int {
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
		if state, ppid := stat(e.Name()); state != "Z" && state != "" && ppid == self {
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

// run is one started program.
type run struct {
	pid     int
	exited  chan struct{} // closed after its wait4
	alone   chan struct{} // closed when it and everything it left have been reaped
	quit    chan struct{} // ends the port poller
	polling sync.WaitGroup
	readers sync.WaitGroup
}

var current atomic.Int64 // the pid of the running program, for the PDEATHSIG handler

func start(req request, rep *reporter, devnull int) *run {
	if len(req.argv) == 0 {
		rep.say("error", []int64{0}, "no program given")
		return nil
	}
	files := []uintptr{uintptr(devnull), uintptr(devnull), uintptr(devnull)}
	var reads []int
	if req.output == "pipe" {
		for i := 1; i <= 2; i++ {
			var ends [2]int
			if err := syscall.Pipe2(ends[:], syscall.O_CLOEXEC); err != nil {
				rep.say("error", []int64{int64(err.(syscall.Errno))}, "cannot make a pipe: "+err.Error())
				for _, fd := range reads {
					syscall.Close(fd)
				}
				return nil
			}
			reads = append(reads, ends[0])
			files[i] = uintptr(ends[1])
		}
	}
	attr := &syscall.ProcAttr{Env: environment(req.env), Files: files, Sys: &syscall.SysProcAttr{Setpgid: true}}
	began := monotonic()
	pid, err := syscall.ForkExec(req.path, req.argv, attr)
	if req.output == "pipe" {
		syscall.Close(int(files[1]))
		syscall.Close(int(files[2]))
	}
	if err != nil {
		errno, _ := err.(syscall.Errno)
		rep.say("error", []int64{int64(errno)}, err.Error())
		for _, fd := range reads {
			syscall.Close(fd)
		}
		return nil
	}
	current.Store(int64(pid))
	rep.say("start", []int64{int64(pid), began}, "")
	r := &run{pid: pid, exited: make(chan struct{}), alone: make(chan struct{}), quit: make(chan struct{})}
	for i, fd := range reads {
		r.readers.Add(1)
		go r.read(i+1, fd, rep)
	}
	if req.port > 0 {
		r.polling.Add(1)
		go r.poll(req.port, rep)
	}
	go r.wait(rep)
	return r
}

// wait reports the program's exit, then reaps what it left as each ends.
func (r *run) wait(rep *reporter) {
	var status syscall.WaitStatus
	var usage syscall.Rusage
	for {
		_, err := syscall.Wait4(r.pid, &status, 0, &usage)
		if err != syscall.EINTR {
			break
		}
	}
	end := monotonic()
	left := len(children())
	rep.say("exit", []int64{end, int64(uint32(status)),
		int64(usage.Utime.Sec)*1_000_000 + int64(usage.Utime.Usec),
		int64(usage.Stime.Sec)*1_000_000 + int64(usage.Stime.Usec), int64(usage.Maxrss), int64(left)}, "")
	close(r.exited)
	// Only now, with the program reaped, may wait4(-1) run: it would have taken the program's
	// status from the wait above. No other run starts before this one's alone is closed.
	for {
		_, err := syscall.Wait4(-1, &status, 0, nil)
		if err == syscall.ECHILD {
			break
		}
	}
	if left > 0 {
		rep.say("alone", []int64{monotonic()}, "")
	}
	close(r.alone)
}

// read forwards what the program writes on one pipe, each chunk with the time it was read.
// The read blocks: the goroutine wakes when the data is there, not on a timer.
func (r *run) read(stream int, fd int, rep *reporter) {
	defer r.readers.Done()
	defer syscall.Close(fd)
	buf := make([]byte, readChunk)
	for {
		n, err := syscall.Read(fd, buf)
		if n > 0 {
			rep.output(stream, monotonic(), buf[:n])
			continue
		}
		if err == syscall.EINTR {
			continue
		}
		return
	}
}

// poll connects to 127.0.0.1:port every pollEvery until a connect works; it reports the time
// taken just before that connect (the listen happened after the previous attempt and by then).
func (r *run) poll(port int, rep *reporter) {
	defer r.polling.Done()
	addr := &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}
	timeout := syscall.NsecToTimeval(int64(100 * time.Millisecond))
	ticker := time.NewTicker(pollEvery)
	defer ticker.Stop()
	for {
		at := monotonic()
		fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
		if err == nil {
			// a full backlog would make a blocking connect wait for the SYN's retransmit
			syscall.SetsockoptTimeval(fd, syscall.SOL_SOCKET, syscall.SO_SNDTIMEO, &timeout)
			err = syscall.Connect(fd, addr)
			syscall.Close(fd)
			if err == nil {
				rep.say("ready", []int64{at}, "")
				return
			}
		}
		select {
		case <-r.quit:
			return
		case <-ticker.C:
		}
	}
}

// stop ends the program (SIGTERM to its group, SIGKILL after grace) and everything it left,
// then waits for its output to be forwarded. True if a pipe stayed open (its output was cut).
func (r *run) stop(grace time.Duration) bool {
	close(r.quit)
	r.polling.Wait()
	select {
	case <-r.exited:
	default:
		syscall.Kill(-r.pid, syscall.SIGTERM)
		syscall.Kill(r.pid, syscall.SIGTERM) // in case it left its group
		select {
		case <-r.exited:
		case <-time.After(grace):
			syscall.Kill(r.pid, syscall.SIGKILL)
			syscall.Kill(-r.pid, syscall.SIGKILL)
			<-r.exited
		}
	}
	r.endLeft()
	current.Store(0)
	flushed := make(chan struct{})
	go func() {
		r.readers.Wait()
		close(flushed)
	}()
	select {
	case <-flushed:
		return false
	case <-time.After(2 * time.Second):
		return true // a process outside the program's tree holds the pipe: its reader is left
	}
}

// endLeft ends what the program left: SIGTERM, a second's grace, then SIGKILL until none is
// left (killing one hands its own children to this subreaper).
func (r *run) endLeft() {
	select {
	case <-r.alone:
		return
	default:
	}
	r.signalLeft(syscall.SIGTERM)
	select {
	case <-r.alone:
		return
	case <-time.After(time.Second):
	}
	for {
		r.signalLeft(syscall.SIGKILL)
		select {
		case <-r.alone:
			return
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// signalLeft sends sig to every child, its group, and the program's group while a child is
// still in it (the program is reaped: its pid, and so its group id, is reused once no member
// is left, and must not be signalled then).
func (r *run) signalLeft(sig syscall.Signal) {
	for _, pid := range children() {
		if group, err := syscall.Getpgid(pid); err == nil && group == r.pid {
			syscall.Kill(-r.pid, sig)
			break
		}
	}
	signalAll(sig)
}

// environment is spawn's own environment with the given NAME=value entries set over it.
func environment(set []string) []string {
	if len(set) == 0 {
		return os.Environ()
	}
	index := map[string]int{}
	env := os.Environ()
	for i, entry := range env {
		name, _, _ := strings.Cut(entry, "=")
		index[name] = i
	}
	for _, entry := range set {
		name, _, _ := strings.Cut(entry, "=")
		if i, found := index[name]; found {
			env[i] = entry
		} else {
			index[name] = len(env)
			env = append(env, entry)
		}
	}
	return env
}

// evict writes the file's dirty pages and drops its pages from the page cache; it returns the
// time that took.
func evict(path string) (int64, error) {
	began := monotonic()
	fd, err := syscall.Open(path, syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return 0, err
	}
	defer syscall.Close(fd)
	if err := syscall.Fdatasync(fd); err != nil {
		return 0, err
	}
	if err := fadviseDontneed(fd); err != nil {
		return 0, err
	}
	return monotonic() - began, nil
}

// readRequests parses the requests on stdin (see the package comment); a request that cannot
// be parsed is answered with an error line, and the end of stdin closes requests.
func readRequests(requests chan<- request, rep *reporter) {
	in := bufio.NewReaderSize(os.Stdin, 64<<10)
	for {
		header, err := in.ReadString('\n')
		if err != nil {
			close(requests)
			return
		}
		words := strings.Fields(header)
		req, ok := request{}, len(words) > 0
		switch {
		case ok && words[0] == "stop" && len(words) == 2:
			req.op = "stop"
			req.graceMs, err = strconv.Atoi(words[1])
		case ok && words[0] == "run" && len(words) == 7:
			req.op, req.output = "run", words[1]
			var numbers [5]int
			for i := range numbers {
				if numbers[i], err = strconv.Atoi(words[2+i]); err != nil || numbers[i] < 0 {
					ok = false
				}
			}
			req.port, req.graceMs = numbers[0], numbers[1]
			payload := make([]byte, numbers[4])
			if _, err = io.ReadFull(in, payload); err != nil {
				close(requests)
				return
			}
			strs := strings.Split(string(payload), "\x00")
			if len(strs) != 1+numbers[2]+numbers[3]+1 {
				ok = false
			} else {
				req.path, strs = strs[0], strs[1:]
				req.argv, req.env = strs[:numbers[2]], strs[numbers[2]:numbers[2]+numbers[3]]
			}
		case ok && words[0] == "evict" && len(words) == 2:
			req.op = "evict"
			var length int
			if length, err = strconv.Atoi(words[1]); err != nil || length < 1 {
				ok = false
				break
			}
			payload := make([]byte, length)
			if _, err = io.ReadFull(in, payload); err != nil {
				close(requests)
				return
			}
			req.path = strings.TrimSuffix(string(payload), "\x00")
		default:
			ok = false
		}
		if !ok || err != nil {
			rep.say("error", []int64{0}, "bad request: "+strings.TrimSpace(header))
			continue
		}
		requests <- req
	}
}

func main() {
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
		os.Stderr.WriteString("spawn: cannot become a child subreaper: " + errno.Error() + "\n")
	}
	devnull, err := syscall.Open("/dev/null", syscall.O_RDWR|syscall.O_CLOEXEC, 0)
	if err != nil {
		os.Stderr.WriteString("spawn: cannot open /dev/null: " + err.Error() + "\n")
		os.Exit(1)
	}
	go func() {
		<-orphaned // buildopt is gone: end the program, its group and what it left
		if pid := int(current.Load()); pid > 0 {
			syscall.Kill(pid, syscall.SIGKILL)
			syscall.Kill(-pid, syscall.SIGKILL)
		}
		for signalAll(syscall.SIGKILL) > 0 {
			time.Sleep(10 * time.Millisecond)
		}
		syscall.Kill(0, syscall.SIGKILL) // this process group, spawn included
	}()
	rep := &reporter{w: bufio.NewWriterSize(os.Stdout, readChunk+64)}
	requests := make(chan request)
	go readRequests(requests, rep)
	var running *run
	grace := 2 * time.Second
	end := func() {
		if running != nil {
			running.stop(grace)
		}
		os.Exit(0)
	}
	for {
		select {
		case req, ok := <-requests:
			if !ok {
				end()
			}
			if req.graceMs > 0 {
				grace = time.Duration(req.graceMs) * time.Millisecond
			}
			switch req.op {
			case "run":
				if running != nil {
					running.stop(grace)
				}
				running = start(req, rep, devnull)
			case "evict":
				took, err := evict(req.path)
				if err != nil {
					errno, _ := err.(syscall.Errno)
					rep.say("evicted", []int64{int64(errno), 0}, err.Error())
				} else {
					rep.say("evicted", []int64{0, took}, "")
				}
			case "stop":
				cut := false
				if running != nil {
					cut = running.stop(grace)
					running = nil
				}
				if cut {
					rep.say("done", []int64{1}, "")
				} else {
					rep.say("done", []int64{0}, "")
				}
			}
		case <-stop:
			end()
		}
	}
}
