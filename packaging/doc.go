// Package packaging holds no code: its tests check the files beside it (the
// Grafana dashboard and the Prometheus alerts) against the binary's metrics.
package packaging
