// Package sqlite is the embedded storage.Store: one SQLite file in WAL mode,
// pure Go (modernc.org/sqlite), with versioned migrations built in.
package sqlite
