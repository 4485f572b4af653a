package daemon

import "syscall"

// sysProcAttr puts the process in its own process group, so that Stop can
// signal it and anything it spawned, and a Ctrl-C meant for the test binary
// does not hit it first. Pdeathsig kills it when the process that started
// it dies without stopping it, as a test binary does when `go test
// -timeout` fires: otherwise such servers outlive their tests. The kernel
// ties Pdeathsig to the starting OS thread, which the Go runtime keeps
// alive unless a goroutine exits while locked to it (runtime.LockOSThread),
// so do not Start from such a goroutine.
func sysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
