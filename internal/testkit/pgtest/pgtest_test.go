package pgtest

import (
	"testing"

	"github.com/jackc/pgx/v5"
)

func TestServer(t *testing.T) {
	s := StartT(t)
	a, b := s.NewDatabaseT(t), s.NewDatabaseT(t)
	if a == b {
		t.Fatalf("two databases share the DSN %s", a)
	}
	for _, dsn := range []string{a, b} {
		conn, err := pgx.Connect(t.Context(), dsn)
		if err != nil {
			t.Fatal(err)
		}
		var fsync string
		if err := conn.QueryRow(t.Context(), "SHOW fsync").Scan(&fsync); err != nil {
			t.Fatal(err)
		}
		if s.Port() != 0 && fsync != "off" {
			t.Errorf("fsync = %s, want off", fsync)
		}
		conn.Close(t.Context())
	}
	if s.Port() == 0 {
		return // external: no restarts
	}
	if err := s.Stop(t.Context()); err != nil {
		t.Fatal(err)
	}
	if conn, err := pgx.Connect(t.Context(), a); err == nil {
		conn.Close(t.Context())
		t.Fatal("connected to a stopped server")
	}
	if err := s.Restart(t.Context()); err != nil {
		t.Fatal(err)
	}
	conn, err := pgx.Connect(t.Context(), a)
	if err != nil {
		t.Fatalf("after restart: %v", err)
	}
	conn.Close(t.Context())
}

func TestWithDatabase(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"postgres://u@h:1/postgres?sslmode=disable", "postgres://u@h:1/x?sslmode=disable"},
		{"postgres://u@h:1", "postgres://u@h:1/x"},
		{"host=h user=u", "host=h user=u dbname=x"},
	} {
		if got := withDatabase(tc.in, "", "x"); got != tc.want {
			t.Errorf("withDatabase(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
