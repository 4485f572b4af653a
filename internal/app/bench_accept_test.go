package app_test

import (
	"context"
	"errors"
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
	"mmsprofile/storage"
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

// BenchmarkAcceptNodes is the scale-out of the accepting side: 1, 2 and 3
// serve nodes on one PostgreSQL database, the senders spread round robin
// over them (as an MMSC's load balancer would), each node with the same
// four senders per core as BenchmarkAccept. Only the leader publishes, and
// nothing is published here, so MMS/s shows what intake alone scales to.
// Every node, the database and the senders share this machine's cores.
func BenchmarkAcceptNodes(b *testing.B) {
	photo := mm7sample.Photo(1280, 960, 77)
	for _, nodes := range []int{1, 2, 3} {
		b.Run(fmt.Sprintf("nodes=%d", nodes), func(b *testing.B) {
			dsn := pgtest.StartT(b).NewDatabaseT(b)
			urls := make([]string, nodes)
			for i := range urls {
				urls[i] = acceptNode(b, "postgres", dsn, nodeSenders)
			}
			var seq atomic.Int64
			b.SetParallelism(4 * nodes)
			b.ResetTimer()
			start := time.Now()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					n := seq.Add(1)
					d := mm7sample.Deliver{TransactionID: fmt.Sprintf("%s-%d", b.Name(), n), Sender: senderNumber(int(n) % nodeSenders), Text: "at the beach", Image: photo}
					url := urls[int(n)%len(urls)]
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

// nodeSenders is how many phones BenchmarkAcceptNodes sends from, each
// linked to an account of its own: one sender would make every node wait
// on the same account's rows, which is not what many MMSCs' traffic does.
const nodeSenders = 64

func senderNumber(i int) string { return fmt.Sprintf("+1202555%04d", 1000+i) }

func acceptServer(b *testing.B, backend string) string {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), "state.db")
	if backend == "postgres" {
		dsn = pgtest.StartT(b).NewDatabaseT(b)
	}
	return acceptNode(b, backend, dsn, 0)
}

// acceptNode runs one serve node on the database at dsn, alice's number
// and the first senders of senderNumber linked, and returns its MM7 URL.
func acceptNode(b *testing.B, backend, dsn string, senders int) string {
	b.Helper()
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
	if err := st.AddLink(ctx, "alice@localhost", aliceNumber, "bench"); err != nil && !errors.Is(err, storage.ErrConflict) {
		b.Fatal(err)
	}
	for i := range senders {
		if err := st.AddLink(ctx, fmt.Sprintf("user%d@localhost", i), senderNumber(i), "bench"); err != nil && !errors.Is(err, storage.ErrConflict) {
			b.Fatal(err)
		}
	}
	st.Close()
	srv := runServer(ctx, b, cfg, testLogger(b))
	return "http://" + srv.MM7Addr().String() + "/mm7"
}
