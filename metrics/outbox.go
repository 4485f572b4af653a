package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"mmsprofile/storage"
)

// outboxCollector asks the database at scrape time rather than keeping
// counts in memory: with several serve processes on one PostgreSQL, only
// the database knows the whole outbox.
type outboxCollector struct {
	stats   func(ctx context.Context) (storage.OutboxStats, error)
	timeout time.Duration
	now     func() time.Time
}

var (
	descOutboxUp = prometheus.NewDesc("mmsprofile_outbox_stats_up",
		"1 if the outbox could be read at this scrape, 0 if the database did not answer in time.", nil, nil)
	descOutboxPending = prometheus.NewDesc("mmsprofile_outbox_pending",
		"Outbox items waiting to be published.", nil, nil)
	descOutboxFailed = prometheus.NewDesc("mmsprofile_outbox_failed",
		"Outbox items given up on (kept for the operator).", nil, nil)
	descOutboxAge = prometheus.NewDesc("mmsprofile_outbox_oldest_age_seconds",
		"Age of the oldest pending outbox item; 0 when none is pending.", nil, nil)
)

func (c *outboxCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descOutboxUp
	ch <- descOutboxPending
	ch <- descOutboxFailed
	ch <- descOutboxAge
}

func (c *outboxCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout)
	defer cancel()
	st, err := c.stats(ctx)
	if err != nil {
		// Say it in a series of its own: an alert on a missing series is
		// easy to forget, one on stats_up == 0 is not.
		ch <- prometheus.MustNewConstMetric(descOutboxUp, prometheus.GaugeValue, 0)
		return
	}
	ch <- prometheus.MustNewConstMetric(descOutboxUp, prometheus.GaugeValue, 1)
	ch <- prometheus.MustNewConstMetric(descOutboxPending, prometheus.GaugeValue, float64(st.Pending))
	ch <- prometheus.MustNewConstMetric(descOutboxFailed, prometheus.GaugeValue, float64(st.Failed))
	age := 0.0
	if !st.Oldest.IsZero() {
		age = max(0, c.now().Sub(st.Oldest).Seconds())
	}
	ch <- prometheus.MustNewConstMetric(descOutboxAge, prometheus.GaugeValue, age)
}
