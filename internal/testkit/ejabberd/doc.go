// Package ejabberd starts a throwaway Debian ejabberd (23.01: HTTP API, PEP,
// XEP-0356 v0.2) on loopback ports in a temporary directory, for tests and demos.
package ejabberd
