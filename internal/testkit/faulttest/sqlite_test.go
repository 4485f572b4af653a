package faulttest

import (
	"context"
	"database/sql"

	_ "modernc.org/sqlite" // the "sqlite" driver serve uses
)

// querySQLite reads serve's SQLite database beside the running process
// (WAL: readers never block its writer).
func querySQLite(ctx context.Context, path, q string, row func(scanner) error) error {
	db, err := sql.Open("sqlite", path+"?_pragma=busy_timeout(10000)&_pragma=query_only(1)")
	if err != nil {
		return err
	}
	defer db.Close()
	rows, err := db.QueryContext(ctx, q)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		if err := row(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}
