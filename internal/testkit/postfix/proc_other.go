//go:build !linux

package postfix

import (
	"errors"
	"syscall"
)

// groupAlive reports whether process group pgid has a member (zombies
// included: there is no portable way to tell them apart).
func groupAlive(pgid int) (bool, error) {
	err := syscall.Kill(-pgid, 0)
	if errors.Is(err, syscall.ESRCH) {
		return false, nil
	}
	return err == nil, err
}
