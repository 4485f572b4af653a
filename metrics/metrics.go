package metrics

import (
	"context"
	"errors"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"mmsprofile/mmsbridge"
	"mmsprofile/storage"
)

// Outcomes of one MMS, the "outcome" label of mmsprofile_mms_total.
const (
	OutcomeAccepted = "accepted" // committed (or a duplicate of a committed one)
	OutcomeRefused  = "refused"  // a permanent no, told to the sender
	OutcomeFailed   = "failed"   // a temporary failure, the sender retries
	OutcomeShed     = "shed"     // refused unread because too much was in flight
)

// Results of one request for an avatar rendition, the "result" label of
// mmsprofile_rendition_requests_total.
const (
	RenditionServed      = "served"
	RenditionNotModified = "not_modified" // the client's copy is current (304)
	RenditionNotFound    = "not_found"    // no such rendition, or not a rendition's name
	RenditionUnavailable = "unavailable"  // the database did not answer (503)
)

// Outcomes of one publish attempt, the "outcome" label of
// mmsprofile_updates_published_total.
const (
	PublishOK     = "published"
	PublishRetry  = "retry"  // failed, will be tried again
	PublishGaveUp = "failed" // failed for good
)

// Options configures New. The zero value is usable.
type Options struct {
	// Version is reported in mmsprofile_build_info.
	Version string
	// Outbox, if set, is called at each scrape for the outbox gauges.
	Outbox func(ctx context.Context) (storage.OutboxStats, error)
	// OutboxTimeout bounds one Outbox call, so that a stuck database
	// makes the gauges go missing instead of hanging the scrape; default
	// 2s.
	OutboxTimeout time.Duration
	// Now is the clock, for tests; default time.Now.
	Now func() time.Time
}

// Metrics holds every series. Create it with New.
type Metrics struct {
	reg *prometheus.Registry
	now func() time.Time

	received       *prometheus.CounterVec
	mms            *prometheus.CounterVec
	rateLimited    *prometheus.CounterVec
	published      *prometheus.CounterVec
	publishDur     *prometheus.HistogramVec
	commitToPub    *prometheus.HistogramVec
	e2e            *prometheus.HistogramVec
	imageDur       *prometheus.HistogramVec
	connected      prometheus.Gauge
	leader         prometheus.Gauge
	reconnects     prometheus.Counter
	inFlight       prometheus.Gauge
	shed           *prometheus.CounterVec
	webhookRefused *prometheus.CounterVec
	renditions     *prometheus.CounterVec
	iqFailures     *prometheus.CounterVec
	mm7Refused     *prometheus.CounterVec
	handshakeFails *prometheus.CounterVec

	mu    sync.Mutex
	wasUp bool // the component has been connected at least once
	isUp  bool
}

// New registers every series on a new registry, together with the Go
// runtime and process collectors (memory, file descriptors, RSS).
func New(opts Options) *Metrics {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.OutboxTimeout <= 0 {
		opts.OutboxTimeout = 2 * time.Second
	}
	reg := prometheus.NewRegistry()
	f := factory{reg}
	m := &Metrics{
		reg: reg,
		now: opts.Now,
		received: f.counterVec("mmsprofile_mms_received_total",
			"MMS that reached the rules (not shed), by transport.", "transport"),
		mms: f.counterVec("mmsprofile_mms_total",
			"MMS by transport and what became of them (accepted, refused, failed, shed) and why.",
			"transport", "outcome", "reason"),
		rateLimited: f.counterVec("mmsprofile_rate_limited_total",
			"Requests refused by a rate limit, by limit.", "limit"),
		published: f.counterVec("mmsprofile_updates_published_total",
			"Publish attempts by outbox kind and outcome (published, retry, failed).", "kind", "outcome"),
		publishDur: f.histogramVec("mmsprofile_publish_duration_seconds",
			"Time one publish attempt took (privileged IQs, API calls or reply), by kind.",
			[]float64{.002, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}, "kind"),
		commitToPub: f.histogramVec("mmsprofile_commit_to_publish_seconds",
			"From the outbox commit to the server's confirmation, by kind.",
			latencyBuckets, "kind"),
		e2e: f.histogramVec("mmsprofile_end_to_end_seconds",
			"From the MMS reaching us to the server's confirmation, by kind.",
			latencyBuckets, "kind"),
		imageDur: f.histogramVec("mmsprofile_image_processing_seconds",
			"Time to bring one picture to the avatar standard, by the format it came in (jpeg, png, heic, ..., unknown) and outcome (ok, error).",
			[]float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}, "format", "outcome"),
		connected: f.gauge("mmsprofile_component_connected",
			"1 while the XEP-0114 session to the XMPP server is up."),
		leader: f.gauge("mmsprofile_leader",
			"1 while this process is the leader: it holds the component connection and drains the outbox."),
		reconnects: f.counter("mmsprofile_component_reconnects_total",
			"Sessions established after the first one."),
		inFlight: f.gauge("mmsprofile_inflight",
			"MMS being processed right now."),
		shed: f.counterVec("mmsprofile_shed_total",
			"MMS refused with retry-later because too many were in flight, by transport.", "transport"),
		webhookRefused: f.counterVec("mmsprofile_webhook_refused_total",
			"Aggregator webhooks refused or failed before the rules, by provider and reason (signature, stale, malformed, media_address, busy, temporary).", "provider", "reason"),
		renditions: f.counterVec("mmsprofile_rendition_requests_total",
			"Requests for avatar renditions over HTTP, by result (served, not_modified, not_found, unavailable).", "result"),
		iqFailures: f.counterVec("mmsprofile_privileged_iq_failures_total",
			"Privileged IQs the server bounced back, left unanswered or refused outright, by user host and reason (bounced, timeout, refused).",
			"host", "reason"),
		mm7Refused: f.counterVec("mmsprofile_mm7_refused_total",
			"MM7 requests refused before they were read, by reason (auth: Basic credentials missing or wrong; address: client not in mm7.allowed_ips).", "reason"),
		handshakeFails: f.counterVec("mmsprofile_component_handshake_failures_total",
			"XEP-0114 handshakes that failed, by reason (not_authorized, conflict, host_unknown, stream_error, other).", "reason"),
	}

	bi := prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Name: "mmsprofile_build_info",
		Help: "Always 1; the labels say what is running.",
	}, []string{"version", "revision", "goversion"})
	reg.MustRegister(bi)
	rev, gover := buildInfo()
	bi.WithLabelValues(opts.Version, rev, gover).Set(1)

	reg.MustRegister(collectors.NewGoCollector())
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	if opts.Outbox != nil {
		reg.MustRegister(&outboxCollector{stats: opts.Outbox, timeout: opts.OutboxTimeout, now: opts.Now})
	}
	return m
}

// latencyBuckets span a publish that goes out at once (tens of ms) to one
// retried for minutes while the server was away.
var latencyBuckets = []float64{.01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800}

func buildInfo() (revision, goversion string) {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "", ""
	}
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" {
			revision = s.Value
		}
	}
	return revision, bi.GoVersion
}

// factory registers as it creates, so a series cannot be forgotten.
type factory struct{ reg *prometheus.Registry }

func (f factory) counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	f.reg.MustRegister(c)
	return c
}

func (f factory) counter(name, help string) prometheus.Counter {
	c := prometheus.NewCounter(prometheus.CounterOpts{Name: name, Help: help})
	f.reg.MustRegister(c)
	return c
}

func (f factory) gauge(name, help string) prometheus.Gauge {
	g := prometheus.NewGauge(prometheus.GaugeOpts{Name: name, Help: help})
	f.reg.MustRegister(g)
	return g
}

func (f factory) histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	f.reg.MustRegister(h)
	return h
}

// Registry is where the series live, for tests and for adding more.
func (m *Metrics) Registry() *prometheus.Registry {
	if m == nil {
		return prometheus.NewRegistry()
	}
	return m.reg
}

// Handler serves the registry in the Prometheus text format (mount it at
// /metrics). A nil *Metrics serves 404.
func (m *Metrics) Handler() http.Handler {
	if m == nil {
		return http.NotFoundHandler()
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		Registry: m.reg, // counts its own scrape errors
		// A failing collector drops its series, not the whole scrape:
		// the other series matter most when something is failing.
		ErrorHandling: promhttp.ContinueOnError,
		Timeout:       10 * time.Second,
	})
}

// Received counts an MMS handed to the rules.
func (m *Metrics) Received(transport string) {
	if m == nil {
		return
	}
	m.received.WithLabelValues(transport).Inc()
}

// MMS counts what became of one MMS. reason must come from a fixed set
// (see Reason), never from the message: labels must stay few.
func (m *Metrics) MMS(transport, outcome, reason string) {
	if m == nil {
		return
	}
	m.mms.WithLabelValues(transport, outcome, reason).Inc()
}

// Handled counts the MMS whose Receive returned err.
func (m *Metrics) Handled(transport string, err error) {
	m.MMS(transport, Outcome(err), Reason(err))
}

// Outcome names what a Receiver's error means for the sender.
func Outcome(err error) string {
	if err == nil {
		return OutcomeAccepted
	}
	if r, ok := mmsbridge.AsRefusal(err); ok {
		if r.Reason == mmsbridge.ReasonBusy {
			return OutcomeFailed
		}
		return OutcomeRefused
	}
	return OutcomeFailed
}

// Reason turns a Receiver's error into a label value from a fixed set.
func Reason(err error) string {
	if err == nil {
		return ""
	}
	if errors.Is(err, ErrShed) {
		return "overloaded"
	}
	r, ok := mmsbridge.AsRefusal(err)
	if !ok {
		if errors.Is(err, context.DeadlineExceeded) {
			return "timeout"
		}
		return "temporary"
	}
	switch r.Reason {
	case mmsbridge.ReasonContent:
		return "content"
	case mmsbridge.ReasonUnknownSender:
		return "unknown_sender"
	case mmsbridge.ReasonBadSender:
		return "bad_sender"
	case mmsbridge.ReasonDenied:
		return "denied"
	case mmsbridge.ReasonBusy:
		return "busy"
	}
	return "other"
}

// ErrShed marks a refusal made because too much work was in flight.
var ErrShed = errors.New("too much work in flight")

// Receiver counts every MMS next is given and what became of it.
func (m *Metrics) Receiver(next mmsbridge.Receiver) mmsbridge.Receiver {
	if m == nil {
		return next
	}
	return mmsbridge.ReceiverFunc(func(ctx context.Context, msg *mmsbridge.Message) error {
		err := next.Receive(ctx, msg)
		if errors.Is(err, ErrShed) {
			// Never reached the rules; Shed counted it under its own
			// outcome. Checked here so the wrapping order does not matter.
			return err
		}
		t := string(msg.Transport)
		m.Received(t)
		m.Handled(t, err)
		return err
	})
}

// RateLimited counts a request refused by the named limit (e.g.
// "updates", "link_requests", "replies").
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}

// Publish is one publish attempt, as the publisher reports it.
type Publish struct {
	Kind    string        // storage.KindAvatar, KindProfile, …
	Err     error         // nil when the server confirmed
	Final   bool          // no retry follows (done or given up)
	Elapsed time.Duration // this attempt
	// Committed is when the item entered the outbox; Received when its
	// MMS reached us. Zero leaves the matching histogram alone.
	Committed time.Time
	Received  time.Time
}

// Published counts a publish attempt and, when it succeeded, how long the
// update took to get there.
func (m *Metrics) Published(p Publish) {
	if m == nil {
		return
	}
	outcome := PublishOK
	switch {
	case p.Err != nil && p.Final:
		outcome = PublishGaveUp
	case p.Err != nil:
		outcome = PublishRetry
	}
	m.published.WithLabelValues(p.Kind, outcome).Inc()
	m.publishDur.WithLabelValues(p.Kind).Observe(p.Elapsed.Seconds())
	if p.Err != nil {
		return
	}
	now := m.now()
	if !p.Committed.IsZero() {
		m.commitToPub.WithLabelValues(p.Kind).Observe(now.Sub(p.Committed).Seconds())
	}
	if !p.Received.IsZero() {
		m.e2e.WithLabelValues(p.Kind).Observe(now.Sub(p.Received).Seconds())
	}
}

// ImageProcessed records the time one picture took; format is what it
// came in as (avatar.FormatName, "" when unknown), err what the imager
// returned. A HEIC decode costs many times a JPEG one, so a slow avatar
// step is read by format.
func (m *Metrics) ImageProcessed(format string, d time.Duration, err error) {
	if m == nil {
		return
	}
	outcome := "ok"
	if err != nil {
		outcome = "error"
	}
	m.imageDur.WithLabelValues(formatLabel(format), outcome).Observe(d.Seconds())
}

// formatLabel spells a format name ("JPEG XL") as a label value
// ("jpeg_xl"). The names come from a fixed list, never from the sender.
func formatLabel(name string) string {
	if name == "" {
		return "unknown"
	}
	return strings.ReplaceAll(strings.ToLower(name), " ", "_")
}

// ComponentUp records the component session going up or down. Every up
// after the first counts as a reconnect.
func (m *Metrics) ComponentUp(up bool) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if up && !m.isUp {
		if m.wasUp {
			m.reconnects.Inc()
		}
		m.wasUp = true
	}
	m.isUp = up
	if up {
		m.connected.Set(1)
	} else {
		m.connected.Set(0)
	}
}

// Leading records this process taking (true) or losing (false) the lead.
// Every serve process exports the gauge, so the sum over them says how many
// lead: 0 means nothing gets published, 2 means the election is broken.
func (m *Metrics) Leading(leading bool) {
	if m == nil {
		return
	}
	if leading {
		m.leader.Set(1)
	} else {
		m.leader.Set(0)
	}
}

// PrivilegedIQFailed counts a privileged IQ that host bounced, left
// unanswered or refused (component.Reason…).
func (m *Metrics) PrivilegedIQFailed(host, reason string) {
	if m == nil {
		return
	}
	m.iqFailures.WithLabelValues(host, reason).Inc()
}

// MM7Refused counts an MM7 request turned away before it was read
// (mm7.RefusedAuth, mm7.RefusedAddress).
func (m *Metrics) MM7Refused(reason string) {
	if m == nil {
		return
	}
	m.mm7Refused.WithLabelValues(reason).Inc()
}

// ComponentHandshakeFailed counts a failed XEP-0114 handshake
// (component.Handshake…).
func (m *Metrics) ComponentHandshakeFailed(reason string) {
	if m == nil {
		return
	}
	m.handshakeFails.WithLabelValues(reason).Inc()
}

// InFlight moves the in-flight gauge by delta.
func (m *Metrics) InFlight(delta int) {
	if m == nil {
		return
	}
	m.inFlight.Add(float64(delta))
}

// Shed counts an MMS refused because too much was in flight.
func (m *Metrics) Shed(transport string) {
	if m == nil {
		return
	}
	m.shed.WithLabelValues(transport).Inc()
	m.mms.WithLabelValues(transport, OutcomeShed, "overloaded").Inc()
}

// RenditionRequest counts one request for an avatar rendition by its
// result (RenditionServed, …).
func (m *Metrics) RenditionRequest(result string) {
	if m == nil {
		return
	}
	m.renditions.WithLabelValues(result).Inc()
}

// WebhookRefused counts an aggregator webhook turned away, by provider
// (twilio, telnyx, bandwidth) and reason.
func (m *Metrics) WebhookRefused(provider, reason string) {
	if m == nil {
		return
	}
	m.webhookRefused.WithLabelValues(provider, reason).Inc()
}
