package app

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net/http"

	"mmsprofile/config"
	"mmsprofile/internal/redact"
	"mmsprofile/metrics"
	"mmsprofile/mmsbridge"
	"mmsprofile/mmsbridge/webhook"
	"mmsprofile/outbox"
	"mmsprofile/publisher"
)

// webhookMux serves every configured aggregator on one listener.
func webhookMux(cfg config.Config, rcv mmsbridge.Receiver, m *metrics.Metrics, log *slog.Logger) (http.Handler, error) {
	w := cfg.Webhook
	common := webhook.Common{
		MaxBodyBytes:       w.MaxBodyBytes,
		MaxMedia:           w.MaxMedia,
		FetchTimeout:       w.FetchTimeout,
		DefaultCountryCode: cfg.Profile.DefaultCountryCode,
		Fetcher:            webhook.NewFetcher(w.MaxMediaBytes, w.FetchTimeout, w.AllowPrivateMedia),
		Receiver:           rcv,
		Refused:            m.WebhookRefused,
		Log:                log,
	}
	mux := http.NewServeMux()
	if t := w.Twilio; t.Enabled {
		mux.Handle(t.Path, &webhook.Twilio{AccountSID: t.AccountSID, AuthToken: t.AuthToken, URL: t.URL, APIURL: t.APIURL, Common: common})
	}
	if t := w.Telnyx; t.Enabled {
		k, err := base64.StdEncoding.DecodeString(t.PublicKey)
		if err != nil || len(k) != ed25519.PublicKeySize {
			return nil, errors.New("server: webhook.telnyx.public_key is not a base64 Ed25519 key")
		}
		mux.Handle(t.Path, &webhook.Telnyx{PublicKey: k, MaxAge: t.MaxAge, APIURL: t.APIURL, APIKey: t.APIKey, Common: common})
	}
	if b := w.Bandwidth; b.Enabled {
		mux.Handle(b.Path, &webhook.Bandwidth{Username: b.Username, Password: b.Password, APIUsername: b.APIUsername,
			APIPassword: b.APIPassword, APIURL: b.APIURL, MediaURL: b.MediaURL, Common: common})
	}
	return mux, nil
}

// webhookRepliers adds the REST way back for each configured provider.
// The outbox retries a failed reply; a 4xx from the provider is final.
func webhookRepliers(cfg config.Config, out map[string]publisher.Replier, log *slog.Logger) {
	w := cfg.Webhook
	if !w.Enabled {
		return
	}
	add := func(tr mmsbridge.Transport, r *webhook.Replier) {
		out[string(tr)] = publisher.ReplierFunc(func(ctx context.Context, rep outbox.Reply) error {
			// LinkedID holds the provider number the phone wrote to.
			from := rep.LinkedID
			if from == "" {
				from = cfg.Profile.ServiceNumber
			}
			err := r.Send(ctx, from, rep.To, rep.Text)
			if errors.Is(err, webhook.ErrPermanent) {
				return &publisher.Permanent{Err: err}
			}
			if err != nil {
				return fmt.Errorf("server: %s reply: %w", tr, err)
			}
			log.Info("reply sent to phone", "provider", tr, "to", redact.MaskNumber(rep.To))
			return nil
		})
	}
	if t := w.Twilio; t.Enabled {
		add(mmsbridge.TransportTwilio, webhook.TwilioReplier(t.APIURL, t.AccountSID, t.AuthToken))
	}
	if t := w.Telnyx; t.Enabled {
		add(mmsbridge.TransportTelnyx, webhook.TelnyxReplier(t.APIURL, t.APIKey))
	}
	if b := w.Bandwidth; b.Enabled {
		add(mmsbridge.TransportBandwidth, webhook.BandwidthReplier(b.APIURL, b.AccountID, b.ApplicationID, b.APIUsername, b.APIPassword))
	}
}
