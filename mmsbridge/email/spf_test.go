package email

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
)

func TestSPF(t *testing.T) {
	dns := newFakeDNS()
	dns.txt["a.example"] = []string{"v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 -all"}
	dns.txt["mx.example"] = []string{"v=spf1 mx/24 ~all"}
	dns.mx["mx.example"] = []string{"mail.mx.example"}
	dns.ip["mail.mx.example"] = []string{"198.51.100.7"}
	dns.txt["redir.example"] = []string{"v=spf1 redirect=a.example"}
	dns.txt["redir-none.example"] = []string{"v=spf1 redirect=nothing.example"}
	dns.txt["two.example"] = []string{"v=spf1 -all", "v=spf1 +all"}
	dns.txt["macro.example"] = []string{"v=spf1 exists:%{i}.spf.example -all"}
	dns.txt["neutral.example"] = []string{"v=spf1 ?all"}
	dns.txt["other.example"] = []string{"google-site-verification=x", "v=spf1 a -all"}
	dns.ip["other.example"] = []string{"203.0.113.5"}
	dns.txt["loop.example"] = []string{"v=spf1 include:loop.example -all"}
	dns.txt["void.example"] = []string{"v=spf1 a:n1.example a:n2.example a:n3.example +all"}
	// A chain of 11 includes: one more DNS lookup than RFC 7208 allows.
	for i := 0; i < 11; i++ {
		dns.txt[fmt.Sprintf("c%d.example", i)] = []string{fmt.Sprintf("v=spf1 include:c%d.example -all", i+1)}
	}
	dns.txt["c11.example"] = []string{"v=spf1 +all"}

	tests := []struct {
		domain, ip, want string
	}{
		{"a.example", "192.0.2.9", spfPass},
		{"a.example", "2001:db8::1", spfPass},
		{"a.example", "203.0.113.1", spfFail},
		{"mx.example", "198.51.100.200", spfPass},
		{"mx.example", "203.0.113.1", spfSoftFail},
		{"redir.example", "192.0.2.1", spfPass},
		{"redir-none.example", "192.0.2.1", spfPermError},
		{"two.example", "192.0.2.1", spfPermError},
		{"macro.example", "192.0.2.1", spfPermError},
		{"neutral.example", "192.0.2.1", spfNeutral},
		{"other.example", "203.0.113.5", spfPass},
		{"nothing.example", "192.0.2.1", spfNone},
		{"loop.example", "192.0.2.1", spfPermError},
		{"void.example", "192.0.2.1", spfPermError},
		{"c0.example", "192.0.2.1", spfPermError},
	}
	for _, tc := range tests {
		t.Run(tc.domain+"/"+tc.ip, func(t *testing.T) {
			dns.queries = 0
			got, err := checkSPF(context.Background(), dns, netip.MustParseAddr(tc.ip), tc.domain)
			if got != tc.want {
				t.Errorf("got %s (%v), want %s", got, err, tc.want)
			}
			if dns.queries > 1+spfMaxLookups+10 {
				t.Errorf("%d DNS queries: unbounded", dns.queries)
			}
		})
	}
}
