//go:build linux && arm

package main

import "syscall"

// fadviseDontneed is posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED): arm's call takes the advice
// second, so that the 64-bit offset and length sit in register pairs (both are 0 here).
func fadviseDontneed(fd int) error {
	_, _, errno := syscall.Syscall6(syscall.SYS_ARM_FADVISE64_64, uintptr(fd), 4, 0, 0, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
