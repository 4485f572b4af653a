// Package pgtest starts a throwaway PostgreSQL for tests (Debian's package,
// run from a temp dir on a free loopback port), or uses MMSPROFILE_TEST_POSTGRES.
package pgtest
