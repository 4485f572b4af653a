package app

import (
	"log"
	"net"
	"net/http"
	"time"

	"golang.org/x/net/netutil"

	"mmsprofile/config"
)

// httpLimits bounds what one HTTP client may cost: see the [limits]
// http_* keys in config.example.toml.
type httpLimits struct {
	HeaderTimeout, ReadTimeout, WriteTimeout, IdleTimeout time.Duration
	MaxHeaderBytes, MaxConns                              int
}

// httpLimitsOf takes the http_* keys of [limits].
func httpLimitsOf(l config.Limits) httpLimits {
	return httpLimits{
		HeaderTimeout:  l.HTTPHeaderTimeout,
		ReadTimeout:    l.HTTPReadTimeout,
		WriteTimeout:   l.HTTPWriteTimeout,
		IdleTimeout:    l.HTTPIdleTimeout,
		MaxHeaderBytes: l.HTTPMaxHeaderBytes,
		MaxConns:       l.HTTPMaxConns,
	}
}

// hardenHTTP is the http.Server every listener runs, and the listener it
// serves: a slow head (slowloris) is cut at HeaderTimeout and a slow body
// at ReadTimeout (the handler's read then fails and it answers 400); a head
// over MaxHeaderBytes gets 431; idle keep-alive connections close after
// IdleTimeout; and no more than MaxConns connections are open at once, so
// a thousand clients cost MaxConns goroutines and descriptors, the rest
// waiting in the kernel's backlog.
func hardenHTTP(h http.Handler, ln net.Listener, lim httpLimits, errLog *log.Logger) (*http.Server, net.Listener) {
	srv := &http.Server{
		Handler:           h,
		ReadHeaderTimeout: lim.HeaderTimeout,
		ReadTimeout:       lim.ReadTimeout,
		WriteTimeout:      lim.WriteTimeout,
		IdleTimeout:       lim.IdleTimeout,
		MaxHeaderBytes:    lim.MaxHeaderBytes,
		ErrorLog:          errLog,
	}
	if lim.MaxConns > 0 {
		ln = netutil.LimitListener(ln, lim.MaxConns)
	}
	return srv, ln
}
