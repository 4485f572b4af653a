// Package storetest is the conformance suite every storage.Store backend
// runs from its own tests, so SQLite and PostgreSQL behave the same.
package storetest
