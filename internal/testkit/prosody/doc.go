// Package prosody starts a throwaway Debian Prosody (with mod_privilege) on
// loopback ports in a temporary directory, for integration tests and demos.
package prosody
