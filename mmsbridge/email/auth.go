package email

import (
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"strings"

	"github.com/emersion/go-msgauth/authres"
	"github.com/emersion/go-msgauth/dkim"
)

// dkimMaxSignatures bounds the RSA work one message can cost us.
const dkimMaxSignatures = 5

// authenticate decides at our end whether the From domain really sent
// this mail. It returns how (for the log), or an error wrapping
// ErrUnauthenticated that says what was tried.
func (p *pipeline) authenticate(ctx context.Context, raw []byte, x *extracted, env Envelope) (string, error) {
	from := x.domain
	if from == "" {
		return "", fmt.Errorf("no sender domain: %w", ErrUnauthenticated)
	}
	c := x.carrier
	var tried []string

	// Behind our own MTA (a pipe, or LMTP from localhost) the client we see
	// is that MTA; the carrier's relay is in the Received line our MX wrote.
	if ip := env.RemoteIP; (!ip.IsValid() || ip.IsLoopback()) && p.cfg.AuthServID != "" {
		if rip, ok := ourReceivedIP(x, p.cfg.AuthServID); ok {
			env.RemoteIP = rip
		}
	}

	if env.RemoteIP.IsValid() && c.allows(AuthRelay) {
		ip := env.RemoteIP.Unmap()
		for _, pre := range p.cfg.AllowedRelays {
			if pre.Contains(ip) {
				return "relay " + ip.String(), nil
			}
		}
		if c != nil {
			for _, pre := range c.Relays {
				if pre.Contains(ip) {
					return "carrier relay " + ip.String(), nil
				}
			}
		}
		tried = append(tried, "relay "+ip.String()+" not allowlisted")
	}

	if p.cfg.AuthServID != "" && c.allows(AuthMX) {
		if how, ok := ourAuthResults(x, p.cfg.AuthServID, from); ok {
			return how, nil
		}
		tried = append(tried, "no pass from "+p.cfg.AuthServID)
	}

	if c.allows(AuthDKIM) {
		how, err := p.checkDKIM(ctx, raw, from)
		if err == nil {
			return how, nil
		}
		tried = append(tried, err.Error())
	}

	if c.allows(AuthSPF) {
		how, err := p.checkSPF(ctx, env, from)
		if err == nil {
			return how, nil
		}
		tried = append(tried, err.Error())
	}

	if !p.cfg.RequireAuth {
		return "unauthenticated (not required)", nil
	}
	return "", fmt.Errorf("%s for %s: %w", strings.Join(tried, "; "), from, ErrUnauthenticated)
}

func (p *pipeline) checkDKIM(ctx context.Context, raw []byte, from string) (string, error) {
	opts := &dkim.VerifyOptions{
		LookupTXT: func(name string) ([]string, error) {
			return p.cfg.Resolver.LookupTXT(ctx, name)
		},
		MaxVerifications: dkimMaxSignatures,
	}
	vs, err := dkim.VerifyWithOptions(bytes.NewReader(toCRLF(skipMboxFrom(raw))), opts)
	if err != nil && len(vs) == 0 {
		return "", fmt.Errorf("dkim: %v", err)
	}
	if len(vs) == 0 {
		return "", fmt.Errorf("dkim: no signature")
	}
	var why []string
	for _, v := range vs {
		switch {
		case v.Err != nil:
			why = append(why, fmt.Sprintf("d=%s %v", v.Domain, v.Err))
		case !aligned(v.Domain, from):
			why = append(why, fmt.Sprintf("d=%s not aligned", v.Domain))
		default:
			return "dkim d=" + v.Domain, nil
		}
	}
	return "", fmt.Errorf("dkim: %s", strings.Join(why, ", "))
}

func (p *pipeline) checkSPF(ctx context.Context, env Envelope, from string) (string, error) {
	domain := domainOf(env.From)
	if domain == "" {
		domain = strings.ToLower(env.Helo) // null sender: the HELO identity (RFC 7208 2.3)
	}
	if domain == "" || !env.RemoteIP.IsValid() {
		return "", fmt.Errorf("spf: no envelope domain or client IP")
	}
	if !aligned(domain, from) {
		return "", fmt.Errorf("spf: envelope domain %s not aligned", domain)
	}
	res, err := checkSPF(ctx, p.cfg.Resolver, env.RemoteIP, domain)
	if res == spfPass {
		return "spf " + domain, nil
	}
	if err != nil {
		return "", fmt.Errorf("spf %s: %s (%v)", domain, res, err)
	}
	return "", fmt.Errorf("spf %s: %s", domain, res)
}

// toCRLF restores the CRLF line ends a signature was made over: an MTA
// pipe (Postfix, Exim) hands the message over with bare LF.
func toCRLF(b []byte) []byte {
	if !bytes.Contains(b, []byte("\n")) || bytes.Count(b, []byte("\r\n")) == bytes.Count(b, []byte("\n")) {
		return b
	}
	b = bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n"))
}

// ourAuthResults looks for a dkim or spf pass, aligned with from, in the
// Authentication-Results our own MX (authserv-id id) added. Only fields
// above the first Received header that our MX did not write count: one
// further down came with the message and proves nothing (RFC 8601 5).
func ourAuthResults(x *extracted, id, from string) (string, bool) {
	fields := x.header.Fields()
	for fields.Next() {
		switch strings.ToLower(fields.Key()) {
		case "received":
			if !receivedBy(fields.Value(), id) {
				return "", false
			}
		case "authentication-results":
			servID, results, err := authres.Parse(fields.Value())
			if err != nil || !strings.EqualFold(servID, id) {
				continue
			}
			for _, r := range results {
				switch r := r.(type) {
				case *authres.DKIMResult:
					if r.Value == authres.ResultPass && aligned(r.Domain, from) {
						return "mx dkim d=" + r.Domain, true
					}
				case *authres.SPFResult:
					if r.Value == authres.ResultPass && aligned(domainOf(r.From), from) {
						return "mx spf " + domainOf(r.From), true
					}
				}
			}
		}
	}
	return "", false
}

// ourReceivedIP is the client IP in the topmost Received line written by
// our MX (host id). Lines further down may be forged by the sender, but
// our MX always puts its own on top of them.
func ourReceivedIP(x *extracted, id string) (netip.Addr, bool) {
	for _, v := range x.header.Values("Received") {
		if !receivedBy(v, id) {
			continue
		}
		low := strings.ToLower(v)
		i := strings.Index(low, "from ")
		j := strings.Index(low, " by ")
		if i < 0 || j < i {
			return netip.Addr{}, false
		}
		from := v[i:j]
		// "from host (host [192.0.2.1])": the address in brackets is what
		// the MX saw; the names are what the client claimed.
		if k := strings.LastIndexByte(from, '['); k >= 0 {
			if e := strings.IndexByte(from[k:], ']'); e > 0 {
				lit := strings.TrimPrefix(strings.ToLower(from[k+1:k+e]), "ipv6:")
				if ip, err := netip.ParseAddr(lit); err == nil {
					return ip.Unmap(), true
				}
			}
		}
		return netip.Addr{}, false
	}
	return netip.Addr{}, false
}

// receivedBy reports whether a Received header was written by host.
func receivedBy(v, host string) bool {
	f := strings.Fields(strings.ToLower(v))
	for i := 0; i+1 < len(f); i++ {
		if f[i] == "by" {
			return strings.TrimSuffix(f[i+1], ";") == strings.ToLower(host)
		}
	}
	return false
}

// aligned is relaxed identifier alignment without a public-suffix list:
// the domains are equal or one is a subdomain of the other, and the
// shorter has at least two labels (so "net" aligns with nothing).
func aligned(a, b string) bool {
	a = strings.ToLower(strings.TrimSuffix(a, "."))
	b = strings.ToLower(strings.TrimSuffix(b, "."))
	if a == "" || b == "" {
		return false
	}
	if len(a) > len(b) {
		a, b = b, a
	}
	if !strings.Contains(a, ".") {
		return false
	}
	return a == b || strings.HasSuffix(b, "."+a)
}

func domainOf(addr string) string {
	addr = strings.Trim(strings.TrimSpace(addr), "<>")
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return strings.ToLower(addr[i+1:])
	}
	return ""
}

// Envelope is what the SMTP transaction (or the MTA's pipe) knows about a
// message beyond its bytes.
type Envelope struct {
	From     string     // MAIL FROM reverse-path, "" for the null sender
	To       []string   // RCPT TO addresses
	RemoteIP netip.Addr // the connecting client, if known
	Helo     string     // the client's HELO/EHLO name
}
