// Package postgres is the storage.Store for production and for several nodes:
// PostgreSQL through a pgx pool, with leader election and LISTEN/NOTIFY.
package postgres
