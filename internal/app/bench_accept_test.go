package app_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/config"
	"mmsprofile/internal/app"
	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/pgtest"
)

// BenchmarkAccept measures what an MMSC sees: MM7 POSTs answered 1000,
// each one parsed, its picture brought to the standard and the update
// committed with its outbox rows, on each storage backend, text-only and
// with a 1280×960 JPEG. Nothing is published (no XMPP server), so this is
// the accepting side alone; ns/op over parallel senders gives MMS/s.
func BenchmarkAccept(b *testing.B) {
	photo := mm7sample.Photo(1280, 960, 77)
	for _, backend := range []string{"sqlite", "postgres"} {
		for _, kind := range []string{"text", "photo"} {
			b.Run(backend+"/"+kind, func(b *testing.B) {
				url := acceptServer(b, backend)
				var seq atomic.Int64
				b.SetParallelism(4)
				b.ResetTimer()
				start := time.Now()
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						n := seq.Add(1)
						d := mm7sample.Deliver{TransactionID: fmt.Sprintf("%s-%d", b.Name(), n), Sender: aliceNumber, Text: "at the beach"}
						if kind == "photo" {
							d.Image = photo
						}
						code, body, err := mm7sample.Post(context.Background(), http.DefaultClient, url, mm7User, mm7Password, d)
						if err != nil || code != 200 || mm7sample.StatusCode(body) != "1000" {
							b.Errorf("POST %d: %v HTTP %d %s", n, err, code, body)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "MMS/s")
			})
		}
	}
}

func acceptServer(b *testing.B, backend string) string {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), "state.db")
	if backend == "postgres" {
		dsn = pgtest.StartT(b).NewDatabaseT(b)
	}
	// A port nobody listens on: the component keeps retrying in the
	// background, which costs the accepting side nothing.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	deadAddr := l.Addr().String()
	l.Close()
	raw := fmt.Sprintf(`
[xmpp]
component = "mms.localhost"
server = %q
secret = "s"
domains = ["localhost"]
reconnect_max = "1m"
[storage]
driver = %q
dsn = %q
[mm7]
listen = "127.0.0.1:0"
username = %q
password = %q
[email]
listen = ""
[http]
listen = ""
[limits]
updates_per_hour = 100000000
max_in_flight = 1000
[avatar]
max_concurrent = 2
`, deadAddr, backend, dsn, mm7User, mm7Password)
	cfg, err := config.Parse([]byte(raw), "bench.toml")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	st, err := app.OpenStore(ctx, cfg.Storage)
	if err != nil {
		b.Fatal(err)
	}
	if err := st.AddLink(ctx, "alice@localhost", aliceNumber, "bench"); err != nil {
		b.Fatal(err)
	}
	st.Close()
	srv := runServer(ctx, b, cfg, testLogger(b))
	return "http://" + srv.MM7Addr().String() + "/mm7"
}
