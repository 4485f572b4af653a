package app_test

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/promtool"
)

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// What an operator's monitoring sees after one accepted and one refused
// MMS: health, readiness as the leader, and the counters moving.
func TestOperatorEndpoints(t *testing.T) {
	e := startWith(t, envOptions{extra: "[http]\nlisten = \"127.0.0.1:0\"\n"})
	base := "http://" + e.srv.HTTPAddr().String()
	if code, body := get(t, base+"/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz %d %q", code, body)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, body := get(t, base+"/readyz")
		if code == 200 && strings.Contains(body, "leading") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("readyz %d %q", code, body)
		}
		time.Sleep(50 * time.Millisecond)
	}
	e.accept("photo", mm7sample.Deliver{TransactionID: "ops-1", Sender: aliceNumber, Image: mm7sample.Photo(320, 240, 5)})
	e.nextAvatar()
	if code, status := e.post(mm7sample.Deliver{TransactionID: "ops-2", Sender: "+12025550199", Text: "hi"}); code != 200 || status != "2003" {
		t.Fatalf("unknown sender: %d %s", code, status)
	}
	var metrics string
	want := []string{
		`mmsprofile_mms_received_total{transport="mm7"} 2`,
		`mmsprofile_mms_total{outcome="accepted",reason="",transport="mm7"} 1`,
		`mmsprofile_mms_total{outcome="refused",reason="unknown_sender",transport="mm7"} 1`,
		`mmsprofile_updates_published_total{kind="avatar",outcome="published"} 1`,
		`mmsprofile_end_to_end_seconds_count{kind="avatar"} 1`,
		`mmsprofile_component_connected 1`,
		`mmsprofile_leader 1`,
		`mmsprofile_image_processing_seconds_count{format="jpeg",outcome="ok"} 1`,
	}
	for time.Now().Before(deadline) {
		_, metrics = get(t, base+"/metrics")
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(metrics, w)
		}
		if ok {
			// The exposition a real serve gives, runtime series and all,
			// not only the one metrics' own test builds.
			promtool.CheckMetrics(t, []byte(metrics))
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("metrics lack some of %q:\n%s", want, metrics)
}
