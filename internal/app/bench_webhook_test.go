package app_test

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sort"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"mmsprofile/config"
	"mmsprofile/internal/app"
	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/webhooktest"
)

// BenchmarkWebhookAccept compares what Twilio sees (its webhook answered
// with TwiML once the photo is fetched, brought to the standard and
// committed) with what an MMSC sees over MM7, on one server and SQLite,
// 50 posts in flight, each with a 1280×960 (1.2 MP) JPEG. It reports the
// answer time's p50 and p99 and MMS/s. Nothing is published.
func BenchmarkWebhookAccept(b *testing.B) {
	photo := mm7sample.Photo(1280, 960, 77)
	tw := webhooktest.NewTwilio()
	b.Cleanup(tw.Close)
	mm7URL, hookURL := webhookBenchServer(b, tw)
	media := tw.AddMedia("bench.jpg", photo)
	send := map[string]func(id string) error{
		"mm7": func(id string) error {
			code, body, err := mm7sample.Post(context.Background(), http.DefaultClient, mm7URL, mm7User, mm7Password,
				mm7sample.Deliver{TransactionID: id, Sender: aliceNumber, Text: "at the beach", Image: photo})
			if err != nil || code != 200 || mm7sample.StatusCode(body) != "1000" {
				return fmt.Errorf("mm7 %s: %v HTTP %d %s", id, err, code, body)
			}
			return nil
		},
		"twilio": func(id string) error {
			code, body, err := tw.Post(hookURL, twilioPublicURL, id, aliceNumber, serviceNumber, "at the beach", []string{media}, "")
			if err != nil || code != 200 {
				return fmt.Errorf("twilio %s: %v HTTP %d %s", id, err, code, body)
			}
			return nil
		},
	}
	for _, name := range []string{"mm7", "twilio"} {
		b.Run(name+"/photo", func(b *testing.B) {
			var seq atomic.Int64
			lat := make([]time.Duration, b.N)
			var wg sync.WaitGroup
			b.ResetTimer()
			start := time.Now()
			for w := 0; w < 50; w++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					for {
						n := seq.Add(1) - 1
						if n >= int64(b.N) {
							return
						}
						t0 := time.Now()
						if err := send[name](fmt.Sprintf("%s-%d", b.Name(), n)); err != nil {
							b.Error(err)
							return
						}
						lat[n] = time.Since(t0)
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start)
			b.StopTimer()
			sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
			b.ReportMetric(float64(b.N)/elapsed.Seconds(), "MMS/s")
			b.ReportMetric(lat[len(lat)/2].Seconds()*1000, "p50-ms")
			b.ReportMetric(lat[len(lat)*99/100].Seconds()*1000, "p99-ms")
		})
	}
}

func webhookBenchServer(b *testing.B, tw *webhooktest.Twilio) (mm7URL, hookURL string) {
	b.Helper()
	dsn := filepath.Join(b.TempDir(), "state.db")
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
driver = "sqlite"
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
[webhook]
listen = "127.0.0.1:0"
allow_private_media = true
[webhook.twilio]
account_sid = %q
auth_token = %q
url = %q
api_url = %q
`, deadAddr, dsn, mm7User, mm7Password, tw.AccountSID, tw.AuthToken, twilioPublicURL, tw.API.URL)
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
	return "http://" + srv.MM7Addr().String() + "/mm7", "http://" + srv.WebhookAddr().String() + "/twilio"
}
