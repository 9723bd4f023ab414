package main

import "syscall"

// childProcAttr has the kernel kill the traders process when the bench
// dies, even by SIGKILL.
func childProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
