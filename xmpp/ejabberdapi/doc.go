// Package ejabberdapi is a small client for ejabberd's HTTP admin API
// (mod_http_api): the publisher's write path on ejabberd before 24.10.
package ejabberdapi
