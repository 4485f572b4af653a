//go:build !linux

package prosody

import "syscall"

// sysProcAttr puts prosody in its own process group, so that Close can
// signal it and anything it spawned.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}
