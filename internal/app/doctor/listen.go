package doctor

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"time"

	"mmsprofile/config"
)

func checkListeners(ctx context.Context, cfg config.Config, r *report) {
	for _, l := range []struct{ key, addr string }{
		{"mm7.listen", cfg.MM7.Listen},
		{"email.listen", cfg.Email.Listen},
		{"http.listen", cfg.HTTP.Listen},
	} {
		switch {
		case l.addr == "":
			r.info(l.key+" is empty: that listener is off", "")
		case l.addr[0] == '/':
			checkUnix(ctx, l.key, l.addr, r)
		default:
			checkTCP(ctx, l.key, l.addr, r)
		}
	}
}

func checkTCP(ctx context.Context, key, addr string, r *report) {
	var lc net.ListenConfig
	ln, err := lc.Listen(ctx, "tcp", addr)
	if err == nil {
		ln.Close()
		r.ok("%s %s can be bound", key, addr)
		return
	}
	switch {
	case errors.Is(err, syscall.EADDRINUSE):
		r.warn(fmt.Sprintf("%s %s is in use: fine if mmsprofile serve is running", key, addr),
			"if serve is not running, find what holds it: ss -ltnp 'sport = :"+port(addr)+"'")
	case errors.Is(err, syscall.EACCES):
		r.fail(fmt.Sprintf("%s %s: permission denied", key, addr),
			"ports below 1024 need CAP_NET_BIND_SERVICE (AmbientCapabilities=CAP_NET_BIND_SERVICE in the systemd unit); or use a port of 1024 or more.")
	case errors.Is(err, syscall.EADDRNOTAVAIL):
		r.fail(fmt.Sprintf("%s %s: that address is not on this machine", key, addr),
			"use one of this machine's addresses (ip -br addr), 127.0.0.1, or 0.0.0.0 for all.")
	default:
		r.fail(fmt.Sprintf("%s %s cannot be bound: %v", key, addr, err), "")
	}
}

func checkUnix(ctx context.Context, key, path string, r *report) {
	if _, err := os.Lstat(path); err == nil {
		d := net.Dialer{Timeout: time.Second}
		if c, err := d.DialContext(ctx, "unix", path); err == nil {
			c.Close()
			r.warn(fmt.Sprintf("%s %s is in use: fine if mmsprofile serve is running", key, path),
				"if serve is not running, another program answers on that socket.")
			return
		}
		// A socket nobody answers on: serve removes and recreates it.
	}
	dir := filepath.Dir(path)
	if _, err := os.Stat(dir); err != nil {
		r.fail(fmt.Sprintf("%s %s: the directory %s does not exist", key, path, dir),
			"create it for the service user: install -d -o mmsprofile -g postfix -m 0750 "+dir+"\n"+
				"and list it in the unit's ReadWritePaths= (packaging/mmsprofile.service).")
		return
	}
	if err := syscall.Access(dir, 2 /* W_OK */); err != nil {
		r.fail(fmt.Sprintf("%s %s: cannot create a socket in %s (%v)", key, path, dir, err),
			"make the directory writable by the service user, and run doctor as that user.")
		return
	}
	r.ok("%s %s can be created", key, path)
}
