//go:build !linux

package main

import "syscall"

// childProcAttr: elsewhere the traders process stops when its stdin closes.
func childProcAttr() *syscall.SysProcAttr { return nil }
