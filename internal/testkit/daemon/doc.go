// Package daemon runs a throwaway server process for tests and the demo: its own
// process group, free loopback ports, wait until it listens, stop with a grace period.
package daemon
