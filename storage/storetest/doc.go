// Package storetest is the conformance suite every storage.Store backend
// runs from its own tests, so SQLite and PostgreSQL behave the same. Its
// tests are grouped as the Store is, one entry point per group (Links,
// Updates, Outbox, …); Run runs them all.
package storetest
