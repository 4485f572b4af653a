// Package faulttest runs the real mmsprofile binary against real Prosody and
// PostgreSQL servers and breaks them: outages, SIGKILL, leader loss, duplicates.
package faulttest
