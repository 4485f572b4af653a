package doctor

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"mmsprofile/config"
	"mmsprofile/publisher"
)

// checkPublicURL asks the public address for a rendition nobody has: only
// serve itself answers that with its own 404, so a proxy that routes
// elsewhere, or not at all, shows here before a contact's client meets it.
// It also asks for /metrics there, which must not be public.
func checkPublicURL(ctx context.Context, cfg config.Config, r *report, opts Options) {
	base := cfg.HTTP.PublicURL
	if base == "" {
		r.info("http.public_url is empty: avatars are published inline only, without larger copies by URL", "")
		return
	}
	probe := publisher.RenditionURL(base, strings.Repeat("0", 40))
	status, body, err := get(ctx, probe, opts)
	switch {
	case err != nil:
		r.warn(fmt.Sprintf("http.public_url: %s: %v", probe, err),
			"clients cannot load the larger pictures until it answers: make the proxy forward "+publisher.RenditionPath+
				" to http.listen "+cfg.HTTP.Listen+" (docs/operations.md), and start serve.")
		return
	case status == http.StatusNotFound && strings.Contains(body, publisher.RenditionNotFound):
		r.ok("http.public_url: %s reaches serve", base)
	default:
		r.warn(fmt.Sprintf("http.public_url: %s answered %d, not serve's own 404", probe, status),
			"make the proxy forward "+publisher.RenditionPath+" to http.listen "+cfg.HTTP.Listen+
				" (docs/operations.md); 502 or 503 from a proxy usually means serve is not running.")
	}
	metricsURL := strings.TrimRight(base, "/") + "/metrics"
	if status, body, err := get(ctx, metricsURL, opts); err == nil && status == http.StatusOK && strings.Contains(body, "mmsprofile_") {
		r.fail(fmt.Sprintf("http.public_url: %s is public", metricsURL),
			"forward only "+publisher.RenditionPath+" through the proxy: the metrics tell anyone how many MMS arrive and from where.")
	}
}

// get fetches url within opts.Timeout and returns its status and the start
// of its body.
func get(ctx context.Context, url string, opts Options) (int, string, error) {
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, "", err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	return resp.StatusCode, string(body), nil
}
