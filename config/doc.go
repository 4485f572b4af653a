// Package config reads the TOML configuration file once, fills in defaults
// and validates it, returning errors an operator can act on.
package config
