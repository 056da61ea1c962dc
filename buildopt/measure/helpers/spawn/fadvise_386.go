//go:build linux && 386

package main

import "syscall"

// fadviseDontneed is posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED): offset and length are two
// words each (both 0), the advice last.
func fadviseDontneed(fd int) error {
	_, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64_64, uintptr(fd), 0, 0, 0, 0, 4)
	if errno != 0 {
		return errno
	}
	return nil
}
