//go:build linux && !(amd64 || arm64 || riscv64 || ppc64 || ppc64le || loong64 || mips64 || mips64le || arm || 386 || mips || mipsle)

package main

import "syscall"

// fadviseDontneed is not written for this architecture (s390x's advice numbers differ): the
// runs stay warm, and buildopt says so.
func fadviseDontneed(fd int) error {
	return syscall.ENOSYS
}
