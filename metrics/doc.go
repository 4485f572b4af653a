// Package metrics counts what the service does, for Prometheus, on a registry
// of its own; every method is safe on a nil *Metrics, which counts nothing.
package metrics
