//go:build !linux

package daemon

import "syscall"

// sysProcAttr puts the process in its own process group, so that Stop can
// signal it and anything it spawned.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
