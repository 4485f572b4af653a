package email

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"testing"

	"mmsprofile/mmsbridge"
)

const attFixture = "testdata/email/01-att-text-as-txt-attachment.eml"

func TestIngestAuthentication(t *testing.T) {
	dns := newFakeDNS()
	key := newDKIMKey(t, dns, "mms.att.net")
	dns.txt["mms.att.net"] = []string{"v=spf1 ip4:198.51.100.0/24 include:_spf.att.example -all"}
	dns.txt["_spf.att.example"] = []string{"v=spf1 a:relay.att.example ~all"}
	dns.ip["relay.att.example"] = []string{"192.0.2.200"}
	plain := stripTrace(t, fixture(t, attFixture))
	rcpt := []string{"avatar@xmpp.example.com"}
	noRelays := func(c *Config) { c.AllowedRelays = nil }

	tests := []struct {
		name   string
		raw    []byte
		env    Envelope
		tweak  func(*Config)
		want   int
		accept bool
	}{
		{"allowlisted relay", plain, Envelope{To: rcpt, RemoteIP: netip.MustParseAddr("198.51.100.27")}, nil, ExitOK, true},
		{"carrier relay", plain, Envelope{To: rcpt, RemoteIP: netip.MustParseAddr("100.64.0.9")}, func(c *Config) {
			c.Carriers = []Carrier{{Domain: "mms.att.net", Relays: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")}}}
		}, ExitOK, true},
		{"relay of another carrier", plain, Envelope{To: rcpt, RemoteIP: netip.MustParseAddr("100.64.0.9")}, func(c *Config) {
			c.Carriers = []Carrier{{Domain: "vzwpix.com", Relays: []netip.Prefix{netip.MustParsePrefix("100.64.0.0/10")}}}
		}, ExitNoUser, false},
		{"nothing proves it", plain, Envelope{To: rcpt, RemoteIP: netip.MustParseAddr("233.252.0.1")}, nil, ExitNoUser, false},
		{"no client ip, no signature", plain, Envelope{To: rcpt}, nil, ExitNoUser, false},
		{"dkim aligned", key.sign(t, plain), Envelope{To: rcpt}, nil, ExitOK, true},
		{"dkim aligned, LF line ends from a pipe", bytes.ReplaceAll(key.sign(t, plain), []byte("\r\n"), []byte("\n")), Envelope{To: rcpt}, nil, ExitOK, true},
		{"dkim tampered", bytes.Replace(key.sign(t, plain), []byte("Subject:"), []byte("Subject: x"), 1), Envelope{To: rcpt}, nil, ExitNoUser, false},
		{"dkim not aligned", newDKIMKey(t, dns, "evil.example").sign(t, plain), Envelope{To: rcpt}, nil, ExitNoUser, false},
		{"spf pass ip4", plain, Envelope{To: rcpt, From: "2025550143@mms.att.net", RemoteIP: netip.MustParseAddr("198.51.100.9")}, noRelays, ExitOK, true},
		{"spf pass via include", plain, Envelope{To: rcpt, From: "x@mms.att.net", RemoteIP: netip.MustParseAddr("192.0.2.200")}, noRelays, ExitOK, true},
		{"spf fail", plain, Envelope{To: rcpt, From: "x@mms.att.net", RemoteIP: netip.MustParseAddr("233.252.0.1")}, noRelays, ExitNoUser, false},
		{"spf pass for an unaligned domain", plain, Envelope{To: rcpt, From: "x@evil.example", RemoteIP: netip.MustParseAddr("198.51.100.9")}, func(c *Config) {
			c.AllowedRelays = nil
			dns.txt["evil.example"] = []string{"v=spf1 +all"}
		}, ExitNoUser, false},
		{"our MX said spf=pass", fixture(t, attFixture), Envelope{To: rcpt}, noRelays, ExitOK, true},
		{"MX result with another authserv-id", bytes.ReplaceAll(fixture(t, attFixture), []byte("Authentication-Results: mx1.xmpp.example.com"), []byte("Authentication-Results: mx.evil.example")), Envelope{To: rcpt}, noRelays, ExitNoUser, false},
		{"our authserv-id forged below a foreign Received", forgedAR(plain), Envelope{To: rcpt}, noRelays, ExitNoUser, false},
		{"auth only by dkim, relay refused", plain, Envelope{To: rcpt, RemoteIP: netip.MustParseAddr("198.51.100.27")}, func(c *Config) {
			c.Carriers = []Carrier{{Domain: "mms.att.net", Auth: []string{AuthDKIM}}}
		}, ExitNoUser, false},
		{"relay IP from our MX's Received", fixture(t, "testdata/email/02-verizon-smil-image-text.eml"), Envelope{To: rcpt, RemoteIP: netip.MustParseAddr("127.0.0.1")}, nil, ExitOK, true},
		{"relay IP in a Received our MX did not write", forgedReceived(plain), Envelope{To: rcpt}, nil, ExitNoUser, false},
		{"not required", plain, Envelope{To: rcpt}, func(c *Config) { c.RequireAuth = false }, ExitOK, true},
		{"wrong recipient", plain, Envelope{To: []string{"someone@elsewhere.example"}, RemoteIP: netip.MustParseAddr("198.51.100.27")}, nil, ExitNoUser, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(dns)
			if tc.tweak != nil {
				tc.tweak(&cfg)
			}
			rec := &recorder{}
			code, err := Ingest(context.Background(), cfg, rec, bytes.NewReader(tc.raw), tc.env)
			if code != tc.want {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.want)
			}
			if got := len(rec.got()); got != map[bool]int{true: 1, false: 0}[tc.accept] {
				t.Fatalf("receiver got %d messages", got)
			}
			if tc.accept && !strings.HasPrefix(rec.got()[0].Sender, "+1") {
				t.Errorf("sender %q", rec.got()[0].Sender)
			}
		})
	}
}

// forgedAR puts an Authentication-Results with our authserv-id under a
// Received that some other host wrote: the sender wrote it, not our MX.
func forgedAR(raw []byte) []byte {
	return append([]byte("Received: from relay.evil.example by mx.evil.example; Tue, 14 May 2024 12:00:00 +0000\r\n"+
		"Authentication-Results: mx1.xmpp.example.com; spf=pass smtp.mailfrom=2025550143@mms.att.net\r\n"), raw...)
}

// forgedReceived carries a sender-written Received that claims our MX saw
// an allowlisted relay, under the real one our MX put on top.
func forgedReceived(raw []byte) []byte {
	return append([]byte("Received: from relay.evil.example ([233.252.0.7]) by mx1.xmpp.example.com; Tue, 14 May 2024 12:00:00 +0000\r\n"+
		"Received: from x ([198.51.100.27]) by mx1.xmpp.example.com; Tue, 14 May 2024 11:00:00 +0000\r\n"), raw...)
}

func TestIngestExitCodes(t *testing.T) {
	relay := Envelope{To: []string{"avatar@xmpp.example.com"}, RemoteIP: netip.MustParseAddr("198.51.100.27")}
	good := fixture(t, attFixture)
	tests := []struct {
		name string
		raw  []byte
		rcv  error
		want int
	}{
		{"accepted", good, nil, ExitOK},
		{"truncated", fixture(t, "testdata/bad/email-01-truncated-mime.eml"), nil, ExitDataErr},
		{"no boundary", fixture(t, "testdata/bad/email-02-missing-boundary.eml"), nil, ExitDataErr},
		{"too large", append(bytes.Repeat([]byte("X-Pad: 0123456789\r\n"), 400000), good...), nil, ExitDataErr},
		{"unknown sender", good, mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "No account is linked to +12025550143. Send LINK and the code."), ExitNoUser},
		{"bad sender", good, mmsbridge.Refuse(mmsbridge.ReasonBadSender, "not a number"), ExitNoUser},
		{"content refused", good, mmsbridge.Refuse(mmsbridge.ReasonContent, "image undecodable"), ExitDataErr},
		{"busy", good, mmsbridge.Refuse(mmsbridge.ReasonBusy, "later"), ExitTempFail},
		{"store down", good, fmt.Errorf("storage: %w", errors.New("connection refused")), ExitTempFail},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := &recorder{err: tc.rcv}
			code, err := Ingest(context.Background(), testConfig(newFakeDNS()), rec, bytes.NewReader(tc.raw), relay)
			if code != tc.want {
				t.Fatalf("exit %d (%v), want %d", code, err, tc.want)
			}
			if (err == nil) != (code == ExitOK) {
				t.Errorf("err %v with exit %d", err, code)
			}
		})
	}
}

func TestOutcomeReplies(t *testing.T) {
	tests := []struct {
		err  error
		code int
		enh  string
	}{
		{mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "who?"), 550, "5.1.0"},
		{mmsbridge.Refuse(mmsbridge.ReasonContent, "no"), 554, "5.6.0"},
		{mmsbridge.Refuse(mmsbridge.ReasonBusy, ""), 451, "4.3.0"},
		{errors.New("db down"), 451, "4.3.0"},
		{fmt.Errorf("x: %w", ErrUnauthenticated), 550, "5.7.1"},
		{fmt.Errorf("x: %w", ErrMalformed), 554, "5.6.0"},
		{fmt.Errorf("x: %w", ErrTooLarge), 552, "5.3.4"},
		{fmt.Errorf("x: %w", ErrLimit), 554, "5.6.0"},
	}
	for _, tc := range tests {
		o := outcomeFor(tc.err)
		e := o.smtp.EnhancedCode
		if got := fmt.Sprintf("%d.%d.%d", e[0], e[1], e[2]); o.smtp.Code != tc.code || got != tc.enh {
			t.Errorf("%v: %d %s, want %d %s", tc.err, o.smtp.Code, got, tc.code, tc.enh)
		}
	}
	if o := outcomeFor(mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "Send LINK 1234")); !strings.Contains(o.smtp.Message, "LINK 1234") {
		t.Errorf("human reason lost: %q", o.smtp.Message)
	}
	if o := outcomeFor(mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "Número\r\n  desconocido")); o.smtp.Message != "N?mero desconocido" {
		t.Errorf("reply text not one ASCII line: %q", o.smtp.Message)
	}
}

// A personal address is linked as itself (docs/email.md): the rules see
// it as the sender, folded to lower case, and the header as written.
func TestPersonalAddressIsTheSender(t *testing.T) {
	raw := []byte("From: Jani <Jani@Example.NET>\r\nTo: avatar@xmpp.example.com\r\nSubject: hi\r\nMessage-ID: <a@b>\r\n\r\nnew status\r\n")
	env := Envelope{To: []string{"avatar@xmpp.example.com"}, RemoteIP: netip.MustParseAddr("192.0.2.1")}
	rec := &recorder{}
	if code, err := Ingest(context.Background(), testConfig(newFakeDNS()), rec, bytes.NewReader(raw), env); code != ExitOK {
		t.Fatalf("exit %d: %v", code, err)
	}
	if m := rec.got()[0]; m.Sender != "jani@example.net" || m.SenderRaw != "Jani@Example.NET" || m.Text() != "new status" {
		t.Errorf("got sender %q raw %q text %q", m.Sender, m.SenderRaw, m.Text())
	}
}

func TestIdempotencyKey(t *testing.T) {
	raw := fixture(t, attFixture)
	a, err := Extract(bytes.NewReader(raw), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	// The same MMS re-sent through another relay: other trace headers.
	b, err := Extract(bytes.NewReader(stripTrace(t, raw)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if a.Key != b.Key {
		t.Errorf("same Message-ID, different keys %q %q", a.Key, b.Key)
	}
	c, err := Extract(bytes.NewReader(bytes.Replace(raw, []byte("Message-ID: <1715692872117"), []byte("Message-ID: <1715692872118"), 1)), Limits{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Key == a.Key {
		t.Errorf("different Message-ID, same key")
	}
}
