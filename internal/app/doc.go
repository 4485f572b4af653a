// Package app wires the packages into the running service from a
// validated configuration: storage, transports, rules, publisher, component.
package app
