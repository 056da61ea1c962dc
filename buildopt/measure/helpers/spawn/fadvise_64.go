//go:build linux && (amd64 || arm64 || riscv64 || ppc64 || ppc64le || loong64 || mips64 || mips64le)

package main

import "syscall"

// fadviseDontneed is posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED): the whole file.
func fadviseDontneed(fd int) error {
	if _, _, errno := syscall.Syscall6(syscall.SYS_FADVISE64, uintptr(fd), 0, 0, 4, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
