package email

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/emersion/go-msgauth/dkim"

	"mmsprofile/mmsbridge"
)

// fakeDNS answers from maps; nothing leaves the process.
type fakeDNS struct {
	mu      sync.Mutex
	txt     map[string][]string
	ip      map[string][]string
	mx      map[string][]string
	queries int
}

func newFakeDNS() *fakeDNS {
	return &fakeDNS{txt: map[string][]string{}, ip: map[string][]string{}, mx: map[string][]string{}}
}

func notFound(name string) error {
	return &net.DNSError{Err: "no such host", Name: name, IsNotFound: true}
}

func (f *fakeDNS) LookupTXT(_ context.Context, name string) ([]string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	if v, ok := f.txt[strings.ToLower(name)]; ok {
		return v, nil
	}
	return nil, notFound(name)
}

func (f *fakeDNS) LookupIPAddr(_ context.Context, host string) ([]net.IPAddr, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	v, ok := f.ip[strings.ToLower(host)]
	if !ok {
		return nil, notFound(host)
	}
	var out []net.IPAddr
	for _, s := range v {
		out = append(out, net.IPAddr{IP: net.ParseIP(s)})
	}
	return out, nil
}

func (f *fakeDNS) LookupMX(_ context.Context, name string) ([]*net.MX, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queries++
	v, ok := f.mx[strings.ToLower(name)]
	if !ok {
		return nil, notFound(name)
	}
	var out []*net.MX
	for _, h := range v {
		out = append(out, &net.MX{Host: h, Pref: 10})
	}
	return out, nil
}

// recorder is a Receiver that keeps what it was given and answers err.
type recorder struct {
	mu   sync.Mutex
	msgs []*mmsbridge.Message
	err  error
}

func (r *recorder) Receive(_ context.Context, m *mmsbridge.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err != nil {
		return r.err
	}
	r.msgs = append(r.msgs, m)
	return nil
}

func (r *recorder) got() []*mmsbridge.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*mmsbridge.Message(nil), r.msgs...)
}

// dkimKey is a signing key whose public half fakeDNS serves.
type dkimKey struct {
	domain, selector string
	signer           crypto.Signer
}

func newDKIMKey(t *testing.T, dns *fakeDNS, domain string) *dkimKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	// Ed25519 DKIM keys are published raw (RFC 8463), not as SPKI.
	dns.txt["test._domainkey."+domain] = []string{"v=DKIM1; k=ed25519; p=" + base64.StdEncoding.EncodeToString(pub)}
	return &dkimKey{domain: domain, selector: "test", signer: priv}
}

func (k *dkimKey) sign(t *testing.T, raw []byte) []byte {
	t.Helper()
	var out bytes.Buffer
	err := dkim.Sign(&out, bytes.NewReader(toCRLF(raw)), &dkim.SignOptions{
		Domain: k.domain, Selector: k.selector, Signer: k.signer,
		HeaderCanonicalization: dkim.CanonicalizationRelaxed,
		BodyCanonicalization:   dkim.CanonicalizationRelaxed,
		HeaderKeys:             []string{"From", "To", "Subject", "Date", "Message-ID", "Content-Type"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// stripTrace drops the fixture's synthetic Received and
// Authentication-Results lines so only what a test sets counts.
func stripTrace(t *testing.T, raw []byte) []byte {
	t.Helper()
	lines := strings.SplitAfter(string(raw), "\n")
	var out strings.Builder
	skipping := false
	inHeader := true
	for _, l := range lines {
		if inHeader && strings.TrimRight(l, "\r\n") == "" {
			inHeader = false
		}
		if inHeader {
			low := strings.ToLower(l)
			if strings.HasPrefix(low, "received:") || strings.HasPrefix(low, "authentication-results:") {
				skipping = true
				continue
			}
			if skipping && (strings.HasPrefix(l, " ") || strings.HasPrefix(l, "\t")) {
				continue
			}
			skipping = false
		}
		out.WriteString(l)
	}
	return []byte(out.String())
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// testConfig is the configuration the fixtures' README assumes.
func testConfig(dns *fakeDNS) Config {
	c := NewConfig()
	c.Recipients = []string{"@xmpp.example.com"}
	c.AuthServID = "mx1.xmpp.example.com"
	c.AllowedRelays = []netip.Prefix{
		netip.MustParsePrefix("198.51.100.0/24"),
		netip.MustParsePrefix("203.0.113.0/24"),
		netip.MustParsePrefix("192.0.2.0/24"),
	}
	c.Resolver = dns
	return c
}
