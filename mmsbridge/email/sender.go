package email

import (
	"regexp"
	"strings"

	"github.com/emersion/go-message/mail"

	"mmsprofile/mmsbridge"
)

// senderAddress returns the From address and the sender's domain. Some
// gateways put a bare MMS address in From ("+9198…/TYPE=PLMN"); the domain
// then comes from Return-Path.
func senderAddress(h mail.Header) (addr, domain string) {
	if list, err := h.AddressList("From"); err == nil && len(list) > 0 {
		addr = list[0].Address
	} else {
		addr = roughAddress(decodeHeader(h.Get("From")))
	}
	if i := strings.LastIndexByte(addr, '@'); i >= 0 {
		return addr, strings.ToLower(addr[i+1:])
	}
	rp := roughAddress(h.Get("Return-Path"))
	if i := strings.LastIndexByte(rp, '@'); i >= 0 {
		domain = strings.ToLower(rp[i+1:])
	}
	return addr, domain
}

// roughAddress takes the address out of a header value that the RFC 5322
// parser refused: the part in angle brackets, else the last word.
func roughAddress(v string) string {
	v = strings.TrimSpace(v)
	if i := strings.LastIndexByte(v, '<'); i >= 0 {
		if j := strings.IndexByte(v[i:], '>'); j > 0 {
			return strings.TrimSpace(v[i+1 : i+j])
		}
	}
	if f := strings.Fields(v); len(f) > 0 {
		return strings.Trim(f[len(f)-1], "<>\"")
	}
	return ""
}

var numberish = regexp.MustCompile(`^\+?[0-9][0-9 .()-]*$`)

// carrierNumber maps a carrier sender to E.164: the local part's digits
// (without "/TYPE=PLMN"), else the carrier's number_pattern in the body.
// A number without "+" needs a country code from the carrier or the
// config; without one nothing is claimed.
func carrierNumber(x *extracted, leaves []*leaf, defaultCC string) (string, bool) {
	c := x.carrier
	if c == nil {
		return "", false
	}
	cc := c.CountryCode
	if cc == "" {
		cc = defaultCC
	}
	local := x.from
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	if i := strings.Index(strings.ToUpper(local), "/TYPE="); i >= 0 {
		local = local[:i]
	}
	if n, ok := toE164(local, cc); ok {
		return n, true
	}
	if c.number != nil {
		for _, l := range leaves {
			if m := c.number.FindSubmatch(l.text); len(m) > 1 {
				if n, ok := toE164(string(m[1]), cc); ok {
					return n, true
				}
			}
		}
	}
	return "", false
}

func toE164(s, cc string) (string, bool) {
	s = strings.TrimSpace(s)
	if !numberish.MatchString(s) {
		return "", false
	}
	if !strings.HasPrefix(s, "+") && !strings.HasPrefix(s, "00") && cc == "" {
		return "", false
	}
	n, err := mmsbridge.NormalizeNumber(s, cc)
	if err != nil {
		return "", false
	}
	return n, true
}
