//go:build linux && (mips || mipsle)

package main

import "syscall"

// fadviseDontneed is posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED): the o32 ABI aligns the
// 64-bit offset to a register pair (a padding word after fd) and passes the length and the
// advice on the stack.
func fadviseDontneed(fd int) error {
	_, _, errno := syscall.Syscall9(syscall.SYS_FADVISE64, uintptr(fd), 0, 0, 0, 0, 0, 4, 0, 0)
	if errno != 0 {
		return errno
	}
	return nil
}
