package postfix

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
)

// groupAlive reports whether a process other than a zombie is in process
// group pgid. Not kill(-pgid, 0): that counts zombies too, and daemons
// orphaned by master's exit stay zombies until init gets round to reaping
// them, which in some containers takes seconds.
func groupAlive(pgid int) (bool, error) {
	stats, err := filepath.Glob("/proc/[0-9]*/stat")
	if err != nil {
		return false, err
	}
	want := []byte(strconv.Itoa(pgid))
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue // gone meanwhile
		}
		// "pid (comm) state ppid pgrp …"; comm may hold spaces and
		// parentheses, so count fields after the last ')'.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := bytes.Fields(b[i+1:])
		if len(f) >= 3 && bytes.Equal(f[2], want) && string(f[0]) != "Z" {
			return true, nil
		}
	}
	return false, nil
}
