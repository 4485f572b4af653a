package webhook

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// ErrPermanent marks a reply the provider refused for good (4xx other
// than 429): retrying it would not help.
var ErrPermanent = errors.New("webhook: reply refused by the provider")

// Replier sends a text back to a phone through a provider's REST API.
type Replier struct {
	Client *http.Client
	send   func(ctx context.Context, from, to, text string) (*http.Request, error)
}

// Send posts the reply; from is the provider number the phone wrote to.
func (r *Replier) Send(ctx context.Context, from, to, text string) error {
	req, err := r.send(ctx, from, to, text)
	if err != nil {
		return err
	}
	c := r.Client
	if c == nil {
		c = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := c.Do(req)
	if err != nil {
		return fmt.Errorf("webhook: reply to %s: %w", req.URL.Host, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		return nil
	case resp.StatusCode >= 400 && resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return fmt.Errorf("%w: %s: %s", ErrPermanent, resp.Status, strings.TrimSpace(string(body)))
	}
	return fmt.Errorf("webhook: reply to %s: %s", req.URL.Host, resp.Status)
}

// TwilioReplier posts to /2010-04-01/Accounts/{sid}/Messages.json.
func TwilioReplier(apiURL, sid, token string) *Replier {
	return &Replier{send: func(ctx context.Context, from, to, text string) (*http.Request, error) {
		form := url.Values{"To": {to}, "From": {from}, "Body": {text}}
		u := strings.TrimRight(apiURL, "/") + "/2010-04-01/Accounts/" + url.PathEscape(sid) + "/Messages.json"
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form.Encode()))
		if err != nil {
			return nil, fmt.Errorf("webhook: twilio reply: %w", err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(sid, token)
		return req, nil
	}}
}

// TelnyxReplier posts to /v2/messages with the API key.
func TelnyxReplier(apiURL, apiKey string) *Replier {
	return &Replier{send: func(ctx context.Context, from, to, text string) (*http.Request, error) {
		return jsonRequest(ctx, strings.TrimRight(apiURL, "/")+"/v2/messages", map[string]any{"from": from, "to": to, "text": text},
			func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+apiKey) })
	}}
}

// BandwidthReplier posts to /api/v2/users/{accountId}/messages.
func BandwidthReplier(apiURL, accountID, applicationID, user, pass string) *Replier {
	return &Replier{send: func(ctx context.Context, from, to, text string) (*http.Request, error) {
		u := strings.TrimRight(apiURL, "/") + "/api/v2/users/" + url.PathEscape(accountID) + "/messages"
		return jsonRequest(ctx, u, map[string]any{"applicationId": applicationID, "to": []string{to}, "from": from, "text": text},
			func(r *http.Request) { r.SetBasicAuth(user, pass) })
	}}
}

func jsonRequest(ctx context.Context, u string, v any, auth func(*http.Request)) (*http.Request, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, fmt.Errorf("webhook: reply body: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("webhook: reply: %w", err)
	}
	req.Header.Set("Content-Type", "application/json")
	auth(req)
	return req, nil
}
