package webhook

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrTooLarge: a media file is over the limit, however it was announced.
var ErrTooLarge = errors.New("webhook: media too large")

// errForbiddenAddr: the media host resolved to an address we never fetch
// from (loopback, private, link-local, metadata…).
var errForbiddenAddr = errors.New("webhook: media address not allowed")

// Credentials are sent to one set of hosts only.
type Credentials struct {
	Hosts    []string // host[:port] as in the URL
	Username string
	Password string
}

// Fetcher downloads media from a provider: http(s) only, every address
// checked after DNS (also on redirects), at most 3 redirects, bounded
// time and size, and credentials only to the provider's own hosts.
type Fetcher struct {
	client       *http.Client
	maxBytes     int64
	allowPrivate bool
}

// NewFetcher builds a Fetcher. allowPrivate lifts the address check, for
// tests against a fake provider on loopback.
func NewFetcher(maxBytes int64, timeout time.Duration, allowPrivate bool) *Fetcher {
	f := &Fetcher{maxBytes: maxBytes, allowPrivate: allowPrivate}
	d := &net.Dialer{Timeout: 5 * time.Second, Control: f.control}
	tr := &http.Transport{
		// No proxy: the address check must see the real peer.
		Proxy:                 nil,
		DialContext:           d.DialContext,
		TLSHandshakeTimeout:   5 * time.Second,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       30 * time.Second,
	}
	f.client = &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: checkRedirect}
	return f
}

// control runs after DNS, on the address actually dialled, so a name
// that resolves (or re-resolves) to an inner address is refused.
func (f *Fetcher) control(network, address string, _ syscall.RawConn) error {
	if f.allowPrivate {
		return nil
	}
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", errForbiddenAddr, address)
	}
	if !PublicAddr(ap.Addr()) {
		return fmt.Errorf("%w: %s", errForbiddenAddr, ap.Addr())
	}
	return nil
}

// PublicAddr reports whether media may be fetched from a.
func PublicAddr(a netip.Addr) bool {
	a = a.Unmap()
	switch {
	case !a.IsValid(), a.IsLoopback(), a.IsPrivate(), a.IsLinkLocalUnicast(), a.IsLinkLocalMulticast(),
		a.IsInterfaceLocalMulticast(), a.IsMulticast(), a.IsUnspecified():
		return false
	}
	// Carrier-grade NAT and the IPv6 unique-local range's siblings are
	// inner networks too.
	if netip.MustParsePrefix("100.64.0.0/10").Contains(a) || netip.MustParsePrefix("0.0.0.0/8").Contains(a) {
		return false
	}
	return true
}

func checkRedirect(req *http.Request, via []*http.Request) error {
	if len(via) > 3 {
		return errors.New("webhook: more than 3 redirects")
	}
	if req.URL.Scheme != "http" && req.URL.Scheme != "https" {
		return fmt.Errorf("webhook: redirect to %s: not http(s)", req.URL.Scheme)
	}
	// Go drops Authorization on a redirect to another host; we drop it
	// on any redirect and let Fetch decide again for the new host.
	req.Header.Del("Authorization")
	if c, ok := req.Context().Value(credsKey{}).(*Credentials); ok && c.allowed(req.URL) {
		req.SetBasicAuth(c.Username, c.Password)
	}
	return nil
}

type credsKey struct{}

func (c *Credentials) allowed(u *url.URL) bool {
	if c == nil || c.Username == "" {
		return false
	}
	for _, h := range c.Hosts {
		if strings.EqualFold(h, u.Host) {
			return true
		}
	}
	return false
}

// Media is one fetched file; ContentType is sniffed from the bytes.
type Media struct {
	ContentType string
	Data        []byte
}

// Fetch downloads raw, sending creds only if its host is one of theirs.
func (f *Fetcher) Fetch(ctx context.Context, raw string, creds *Credentials) (Media, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Media{}, fmt.Errorf("webhook: media URL %q: want http(s)", raw)
	}
	ctx = context.WithValue(ctx, credsKey{}, creds)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return Media{}, fmt.Errorf("webhook: media request: %w", err)
	}
	if creds.allowed(u) {
		req.SetBasicAuth(creds.Username, creds.Password)
	}
	resp, err := f.client.Do(req)
	if err != nil {
		return Media{}, fmt.Errorf("webhook: fetch media from %s: %w", u.Host, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return Media{}, fmt.Errorf("webhook: fetch media from %s: %s", u.Host, resp.Status)
	}
	if resp.ContentLength > f.maxBytes {
		return Media{}, fmt.Errorf("%w: %d bytes announced", ErrTooLarge, resp.ContentLength)
	}
	// Counted while reading: the announced length may lie or be absent.
	b, err := io.ReadAll(io.LimitReader(resp.Body, f.maxBytes+1))
	if err != nil {
		return Media{}, fmt.Errorf("webhook: read media from %s: %w", u.Host, err)
	}
	if int64(len(b)) > f.maxBytes {
		return Media{}, fmt.Errorf("%w: over %d bytes", ErrTooLarge, f.maxBytes)
	}
	ct := http.DetectContentType(b)
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return Media{ContentType: strings.TrimSpace(ct), Data: b}, nil
}
