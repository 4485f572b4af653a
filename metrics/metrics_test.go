package metrics

import (
	"context"
	"errors"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/prometheus/common/expfmt"

	"mmsprofile/mmsbridge"
	"mmsprofile/storage"
)

var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTest(t *testing.T, opts Options) *Metrics {
	t.Helper()
	if opts.Now == nil {
		opts.Now = func() time.Time { return t0 }
	}
	return New(opts)
}

func TestNilIsSafe(t *testing.T) {
	var m *Metrics
	m.Received("mm7")
	m.MMS("mm7", OutcomeAccepted, "")
	m.Handled("mm7", nil)
	m.RateLimited("updates")
	m.Published(Publish{Kind: "avatar"})
	m.ImageProcessed("JPEG", time.Second, nil)
	m.ComponentUp(true)
	m.Leading(true)
	m.MM7Refused("auth")
	m.ComponentHandshakeFailed("not_authorized")
	m.InFlight(1)
	m.Shed("email")
	m.RenditionRequest(RenditionServed)
	rcv := m.Receiver(mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error { return nil }))
	if err := rcv.Receive(t.Context(), &mmsbridge.Message{}); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	if rec.Code != 404 {
		t.Fatalf("nil Handler: %d, want 404", rec.Code)
	}
}

func TestReceiverCountsOutcomes(t *testing.T) {
	m := newTest(t, Options{})
	errs := []error{
		nil,
		nil,
		mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "who is +1202…?"),
		mmsbridge.Refuse(mmsbridge.ReasonContent, "no picture"),
		mmsbridge.Refuse(mmsbridge.ReasonBusy, "later"),
		fmt.Errorf("storage: commit: %w", errors.New("disk I/O error")),
		fmt.Errorf("profile: %w", context.DeadlineExceeded),
		fmt.Errorf("shed: %w", ErrShed),
	}
	i := 0
	rcv := m.Receiver(mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error {
		err := errs[i]
		i++
		return err
	}))
	for range errs {
		_ = rcv.Receive(t.Context(), &mmsbridge.Message{Transport: mmsbridge.TransportMM7})
	}
	want := `
# HELP mmsprofile_mms_received_total MMS that reached the rules (not shed), by transport.
# TYPE mmsprofile_mms_received_total counter
mmsprofile_mms_received_total{transport="mm7"} 7
# HELP mmsprofile_mms_total MMS by transport and what became of them (accepted, refused, failed, shed) and why.
# TYPE mmsprofile_mms_total counter
mmsprofile_mms_total{outcome="accepted",reason="",transport="mm7"} 2
mmsprofile_mms_total{outcome="failed",reason="busy",transport="mm7"} 1
mmsprofile_mms_total{outcome="failed",reason="temporary",transport="mm7"} 1
mmsprofile_mms_total{outcome="failed",reason="timeout",transport="mm7"} 1
mmsprofile_mms_total{outcome="refused",reason="content",transport="mm7"} 1
mmsprofile_mms_total{outcome="refused",reason="unknown_sender",transport="mm7"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mmsprofile_mms_received_total", "mmsprofile_mms_total"); err != nil {
		t.Fatal(err)
	}
}

func TestPublished(t *testing.T) {
	m := newTest(t, Options{})
	m.Published(Publish{Kind: storage.KindAvatar, Elapsed: 3 * time.Millisecond,
		Committed: t0.Add(-200 * time.Millisecond), Received: t0.Add(-2 * time.Second)})
	m.Published(Publish{Kind: storage.KindAvatar, Err: errors.New("timeout"), Elapsed: time.Second})
	m.Published(Publish{Kind: storage.KindProfile, Err: errors.New("forbidden"), Final: true})
	// Unknown times leave the latency histograms alone.
	m.Published(Publish{Kind: storage.KindReply})

	want := `
# HELP mmsprofile_updates_published_total Publish attempts by outbox kind and outcome (published, retry, failed).
# TYPE mmsprofile_updates_published_total counter
mmsprofile_updates_published_total{kind="avatar",outcome="published"} 1
mmsprofile_updates_published_total{kind="avatar",outcome="retry"} 1
mmsprofile_updates_published_total{kind="profile",outcome="failed"} 1
mmsprofile_updates_published_total{kind="reply",outcome="published"} 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), "mmsprofile_updates_published_total"); err != nil {
		t.Fatal(err)
	}
	if n := testutil.CollectAndCount(m.e2e); n != 1 {
		t.Errorf("end-to-end series = %d, want 1 (avatar only)", n)
	}
	out, err := testutil.GatherAndFormat(m.Registry(), expfmt.TypeTextPlain, "mmsprofile_end_to_end_seconds", "mmsprofile_commit_to_publish_seconds")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		`mmsprofile_end_to_end_seconds_sum{kind="avatar"} 2`,
		`mmsprofile_end_to_end_seconds_bucket{kind="avatar",le="1"} 0`,
		`mmsprofile_end_to_end_seconds_bucket{kind="avatar",le="2.5"} 1`,
		`mmsprofile_commit_to_publish_seconds_sum{kind="avatar"} 0.2`,
	} {
		if !strings.Contains(string(out), line) {
			t.Errorf("missing %q in\n%s", line, out)
		}
	}
}

func TestComponentState(t *testing.T) {
	m := newTest(t, Options{})
	m.ComponentUp(false) // not yet connected: no reconnect
	m.ComponentUp(true)  // first session
	if got := testutil.ToFloat64(m.connected); got != 1 {
		t.Fatalf("connected = %v, want 1", got)
	}
	m.ComponentUp(true) // repeated: no change
	m.ComponentUp(false)
	if got := testutil.ToFloat64(m.connected); got != 0 {
		t.Fatalf("connected = %v, want 0", got)
	}
	m.ComponentUp(true)
	m.ComponentUp(false)
	m.ComponentUp(true)
	if got := testutil.ToFloat64(m.reconnects); got != 2 {
		t.Fatalf("reconnects = %v, want 2", got)
	}
}

func TestLeading(t *testing.T) {
	m := newTest(t, Options{})
	// A standby exports 0 rather than nothing, so that the alert on "no
	// node leads" can tell a standby from a process that is not scraped.
	if got := testutil.ToFloat64(m.leader); got != 0 {
		t.Errorf("leader before the election = %v, want 0", got)
	}
	m.Leading(true)
	if got := testutil.ToFloat64(m.leader); got != 1 {
		t.Errorf("leader while leading = %v, want 1", got)
	}
	m.Leading(false)
	if got := testutil.ToFloat64(m.leader); got != 0 {
		t.Errorf("leader after losing the lead = %v, want 0", got)
	}
}

func TestCredentialRefusals(t *testing.T) {
	m := newTest(t, Options{})
	m.MM7Refused("auth")
	m.MM7Refused("auth")
	m.MM7Refused("address")
	m.ComponentHandshakeFailed("not_authorized")
	want := `
# HELP mmsprofile_component_handshake_failures_total XEP-0114 handshakes that failed, by reason (not_authorized, conflict, host_unknown, stream_error, other).
# TYPE mmsprofile_component_handshake_failures_total counter
mmsprofile_component_handshake_failures_total{reason="not_authorized"} 1
# HELP mmsprofile_mm7_refused_total MM7 requests refused before they were read, by reason (auth: Basic credentials missing or wrong; address: client not in mm7.allowed_ips).
# TYPE mmsprofile_mm7_refused_total counter
mmsprofile_mm7_refused_total{reason="address"} 1
mmsprofile_mm7_refused_total{reason="auth"} 2
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"mmsprofile_mm7_refused_total", "mmsprofile_component_handshake_failures_total"); err != nil {
		t.Fatal(err)
	}
}

func TestShedAndInFlight(t *testing.T) {
	m := newTest(t, Options{})
	m.InFlight(1)
	m.InFlight(1)
	m.InFlight(-1)
	m.Shed("email")
	if got := testutil.ToFloat64(m.inFlight); got != 1 {
		t.Errorf("inflight = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.shed.WithLabelValues("email")); got != 1 {
		t.Errorf("shed = %v, want 1", got)
	}
	if got := testutil.ToFloat64(m.mms.WithLabelValues("email", OutcomeShed, "overloaded")); got != 1 {
		t.Errorf("mms shed = %v, want 1", got)
	}
}

func TestImageAndRateLimit(t *testing.T) {
	m := newTest(t, Options{})
	m.ImageProcessed("JPEG", 40*time.Millisecond, nil)
	m.ImageProcessed("JPEG", 50*time.Millisecond, nil)
	m.ImageProcessed("JPEG XL", time.Second, errors.New("undecodable"))
	m.ImageProcessed("", time.Millisecond, errors.New("not a picture"))
	m.RateLimited("updates")
	m.RateLimited("updates")
	if n := testutil.CollectAndCount(m.imageDur); n != 3 {
		t.Errorf("image series = %d, want 3 (jpeg ok, jpeg_xl error, unknown error)", n)
	}
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	for _, want := range []string{
		`mmsprofile_image_processing_seconds_count{format="jpeg",outcome="ok"} 2`,
		`mmsprofile_image_processing_seconds_count{format="jpeg_xl",outcome="error"} 1`,
		`mmsprofile_image_processing_seconds_count{format="unknown",outcome="error"} 1`,
	} {
		if !strings.Contains(rec.Body.String(), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if got := testutil.ToFloat64(m.rateLimited.WithLabelValues("updates")); got != 2 {
		t.Errorf("rate limited = %v, want 2", got)
	}
}

func TestRenditionRequests(t *testing.T) {
	m := newTest(t, Options{})
	m.RenditionRequest(RenditionServed)
	m.RenditionRequest(RenditionServed)
	m.RenditionRequest(RenditionNotFound)
	if got := testutil.ToFloat64(m.renditions.WithLabelValues(RenditionServed)); got != 2 {
		t.Errorf("served = %v, want 2", got)
	}
	if n := testutil.CollectAndCount(m.renditions); n != 2 {
		t.Errorf("rendition series = %d, want 2 (served, not_found)", n)
	}
}

func TestOutboxCollector(t *testing.T) {
	var fail bool
	m := newTest(t, Options{
		Outbox: func(ctx context.Context) (storage.OutboxStats, error) {
			if fail {
				<-ctx.Done() // a stuck database: the timeout must end it
				return storage.OutboxStats{}, ctx.Err()
			}
			return storage.OutboxStats{Pending: 3, Failed: 1, Oldest: t0.Add(-90 * time.Second)}, nil
		},
		OutboxTimeout: 50 * time.Millisecond,
	})
	names := []string{"mmsprofile_outbox_stats_up", "mmsprofile_outbox_pending", "mmsprofile_outbox_failed", "mmsprofile_outbox_oldest_age_seconds"}
	want := `
# HELP mmsprofile_outbox_failed Outbox items given up on (kept for the operator).
# TYPE mmsprofile_outbox_failed gauge
mmsprofile_outbox_failed 1
# HELP mmsprofile_outbox_oldest_age_seconds Age of the oldest pending outbox item; 0 when none is pending.
# TYPE mmsprofile_outbox_oldest_age_seconds gauge
mmsprofile_outbox_oldest_age_seconds 90
# HELP mmsprofile_outbox_pending Outbox items waiting to be published.
# TYPE mmsprofile_outbox_pending gauge
mmsprofile_outbox_pending 3
# HELP mmsprofile_outbox_stats_up 1 if the outbox could be read at this scrape, 0 if the database did not answer in time.
# TYPE mmsprofile_outbox_stats_up gauge
mmsprofile_outbox_stats_up 1
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
	fail = true
	want = `
# HELP mmsprofile_outbox_stats_up 1 if the outbox could be read at this scrape, 0 if the database did not answer in time.
# TYPE mmsprofile_outbox_stats_up gauge
mmsprofile_outbox_stats_up 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want), names...); err != nil {
		t.Fatal(err)
	}
}

func TestHandlerServesAndLints(t *testing.T) {
	m := newTest(t, Options{Version: "1.2.3"})
	m.Received("mm7")
	rec := httptest.NewRecorder()
	m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body := rec.Body.String()
	for _, want := range []string{
		`mmsprofile_build_info{goversion=`,
		`version="1.2.3"} 1`,
		`mmsprofile_mms_received_total{transport="mm7"} 1`,
		`go_goroutines `,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	problems, err := testutil.GatherAndLint(m.Registry())
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		if strings.HasPrefix(p.Metric, "mmsprofile_") {
			t.Errorf("lint: %s: %s", p.Metric, p.Text)
		}
	}
}

func TestReason(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{nil, ""},
		{mmsbridge.Refuse(mmsbridge.ReasonBadSender, "x"), "bad_sender"},
		{mmsbridge.Refuse(mmsbridge.ReasonDenied, "x"), "denied"},
		{fmt.Errorf("wrapped: %w", mmsbridge.Refuse(mmsbridge.ReasonContent, "x")), "content"},
		{&mmsbridge.Refusal{Reason: 99}, "other"},
		{ErrShed, "overloaded"},
	} {
		if got := Reason(tc.err); got != tc.want {
			t.Errorf("Reason(%v) = %q, want %q", tc.err, got, tc.want)
		}
	}
}

func TestPrivilegedIQFailed(t *testing.T) {
	m := New(Options{})
	m.PrivilegedIQFailed("example.org", "bounced")
	m.PrivilegedIQFailed("example.org", "bounced")
	m.PrivilegedIQFailed("example.net", "timeout")
	if got := testutil.ToFloat64(m.iqFailures.WithLabelValues("example.org", "bounced")); got != 2 {
		t.Errorf("bounced on example.org = %v, want 2", got)
	}
	if got := testutil.ToFloat64(m.iqFailures.WithLabelValues("example.net", "timeout")); got != 1 {
		t.Errorf("timeout on example.net = %v, want 1", got)
	}
	var nilM *Metrics
	nilM.PrivilegedIQFailed("example.org", "refused")
}
