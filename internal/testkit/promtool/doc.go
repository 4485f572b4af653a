// Package promtool runs Prometheus' promtool (Debian's package prometheus)
// for tests: rule files, rule unit tests and a scrape's exposition.
package promtool
