package email

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// SPF results (RFC 7208 2.6).
const (
	spfNone      = "none"
	spfNeutral   = "neutral"
	spfPass      = "pass"
	spfFail      = "fail"
	spfSoftFail  = "softfail"
	spfTempError = "temperror"
	spfPermError = "permerror"
)

// RFC 7208 4.6.4: at most 10 DNS-querying terms and 2 void lookups per
// check, so a hostile record cannot make us a DNS amplifier.
const (
	spfMaxLookups     = 10
	spfMaxVoidLookups = 2
)

// spfCheck is one bounded SPF evaluation. Macros (RFC 7208 7) and "ptr"
// are not supported: a record using macros is a permerror (never a pass),
// "ptr" never matches (RFC 7208 5.5 says not to use it).
type spfCheck struct {
	res     DNSResolver
	ip      netip.Addr
	lookups int
	voids   int
}

var errSPFPerm = errors.New("spf: permerror")

// checkSPF evaluates the SPF policy of domain for a mail from ip.
func checkSPF(ctx context.Context, res DNSResolver, ip netip.Addr, domain string) (string, error) {
	if !ip.IsValid() || domain == "" {
		return spfNone, nil
	}
	c := &spfCheck{res: res, ip: ip.Unmap()}
	return c.evaluate(ctx, strings.ToLower(strings.TrimSuffix(domain, ".")), 0)
}

func (c *spfCheck) evaluate(ctx context.Context, domain string, depth int) (string, error) {
	if depth > spfMaxLookups {
		return spfPermError, fmt.Errorf("spf %s: include loop: %w", domain, errSPFPerm)
	}
	txts, err := c.res.LookupTXT(ctx, domain)
	if err != nil {
		if isNotFound(err) {
			return spfNone, nil
		}
		return spfTempError, fmt.Errorf("spf %s: %w", domain, err)
	}
	var record string
	n := 0
	for _, t := range txts {
		l := strings.ToLower(strings.TrimSpace(t))
		if l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			record = t
			n++
		}
	}
	switch {
	case n == 0:
		return spfNone, nil
	case n > 1:
		return spfPermError, fmt.Errorf("spf %s: %d records: %w", domain, n, errSPFPerm)
	}
	if strings.Contains(record, "%") {
		return spfPermError, fmt.Errorf("spf %s: macros not supported: %w", domain, errSPFPerm)
	}
	terms := strings.Fields(record)[1:]
	redirect := ""
	for _, term := range terms {
		lt := strings.ToLower(term)
		if strings.HasPrefix(lt, "redirect=") {
			redirect = term[len("redirect="):]
			continue
		}
		if strings.Contains(lt, "=") && !strings.ContainsAny(lt[:strings.Index(lt, "=")], ":/") {
			continue // another modifier (exp=…): ignored
		}
		qual := spfPass
		switch term[0] {
		case '+':
			term = term[1:]
		case '-':
			qual, term = spfFail, term[1:]
		case '~':
			qual, term = spfSoftFail, term[1:]
		case '?':
			qual, term = spfNeutral, term[1:]
		}
		match, res, err := c.mechanism(ctx, domain, term, depth)
		if err != nil {
			return res, err
		}
		if match {
			return qual, nil
		}
	}
	if redirect != "" {
		if err := c.count(); err != nil {
			return spfPermError, err
		}
		res, err := c.evaluate(ctx, strings.ToLower(redirect), depth+1)
		if res == spfNone {
			return spfPermError, fmt.Errorf("spf %s: redirect to %s without record: %w", domain, redirect, errSPFPerm)
		}
		return res, err
	}
	return spfNeutral, nil
}

func (c *spfCheck) count() error {
	c.lookups++
	if c.lookups > spfMaxLookups {
		return fmt.Errorf("spf: more than %d DNS lookups: %w", spfMaxLookups, errSPFPerm)
	}
	return nil
}

func (c *spfCheck) void() error {
	c.voids++
	if c.voids > spfMaxVoidLookups {
		return fmt.Errorf("spf: more than %d void lookups: %w", spfMaxVoidLookups, errSPFPerm)
	}
	return nil
}

// mechanism reports whether term matches; on error res is the result.
func (c *spfCheck) mechanism(ctx context.Context, domain, term string, depth int) (bool, string, error) {
	name, arg, _ := strings.Cut(term, ":")
	name = strings.ToLower(name)
	cidr4, cidr6 := 32, 128
	// "a/24", "mx//64": the CIDR can follow the name without an argument.
	if i := strings.IndexByte(name, '/'); i >= 0 {
		name, arg = name[:i], name[i:]
	}
	switch name {
	case "all":
		return true, "", nil
	case "ip4", "ip6":
		p, err := parsePrefix(arg)
		if err != nil {
			return false, spfPermError, fmt.Errorf("spf %s: %s: %w", domain, term, errSPFPerm)
		}
		return p.Contains(c.ip), "", nil
	case "include":
		if err := c.count(); err != nil {
			return false, spfPermError, err
		}
		res, err := c.evaluate(ctx, strings.ToLower(arg), depth+1)
		switch res {
		case spfPass:
			return true, "", nil
		case spfFail, spfSoftFail, spfNeutral:
			return false, "", nil
		case spfTempError:
			return false, spfTempError, err
		}
		return false, spfPermError, fmt.Errorf("spf %s: include:%s gave %s: %w", domain, arg, res, errSPFPerm)
	case "a", "mx", "exists":
		if err := c.count(); err != nil {
			return false, spfPermError, err
		}
		target, c4, c6, err := splitCIDR(arg, domain, cidr4, cidr6)
		if err != nil {
			return false, spfPermError, fmt.Errorf("spf %s: %s: %w", domain, term, errSPFPerm)
		}
		var hosts []string
		if name == "mx" {
			mxs, err := c.res.LookupMX(ctx, target)
			if err != nil && !isNotFound(err) {
				return false, spfTempError, fmt.Errorf("spf %s: mx %s: %w", domain, target, err)
			}
			if len(mxs) == 0 {
				if err := c.voidErr(); err != nil {
					return false, spfPermError, err
				}
				return false, "", nil
			}
			for i, mx := range mxs {
				if i >= 10 { // RFC 7208 4.6.4: at most 10 MX names
					return false, spfPermError, fmt.Errorf("spf %s: too many MX: %w", domain, errSPFPerm)
				}
				hosts = append(hosts, mx.Host)
			}
		} else {
			hosts = []string{target}
		}
		for _, h := range hosts {
			addrs, err := c.res.LookupIPAddr(ctx, h)
			if err != nil && !isNotFound(err) {
				return false, spfTempError, fmt.Errorf("spf %s: %s %s: %w", domain, name, h, err)
			}
			if len(addrs) == 0 {
				if err := c.voidErr(); err != nil {
					return false, spfPermError, err
				}
				continue
			}
			if name == "exists" {
				return true, "", nil
			}
			for _, a := range addrs {
				ip, ok := netip.AddrFromSlice(a.IP)
				if !ok {
					continue
				}
				ip = ip.Unmap()
				bits := c4
				if ip.Is6() {
					bits = c6
				}
				if ip.Is4() != c.ip.Is4() {
					continue
				}
				if p, err := ip.Prefix(bits); err == nil && p.Contains(c.ip) {
					return true, "", nil
				}
			}
		}
		return false, "", nil
	case "ptr":
		return false, "", nil
	}
	return false, spfPermError, fmt.Errorf("spf %s: unknown mechanism %q: %w", domain, term, errSPFPerm)
}

func (c *spfCheck) voidErr() error { return c.void() }

// splitCIDR parses "host/24//64" (host optional) for a, mx and exists.
func splitCIDR(arg, domain string, c4, c6 int) (string, int, int, error) {
	host := arg
	if i := strings.IndexByte(arg, '/'); i >= 0 {
		host = arg[:i]
		rest := arg[i:]
		v4, v6, has6 := strings.Cut(rest, "//")
		if v4 != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(v4, "/"))
			if err != nil || n < 0 || n > 32 {
				return "", 0, 0, errSPFPerm
			}
			c4 = n
		}
		if has6 {
			n, err := strconv.Atoi(v6)
			if err != nil || n < 0 || n > 128 {
				return "", 0, 0, errSPFPerm
			}
			c6 = n
		}
	}
	if host == "" {
		host = domain
	}
	return strings.ToLower(host), c4, c6, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()), nil
}

func isNotFound(err error) bool {
	var de *net.DNSError
	return errors.As(err, &de) && de.IsNotFound
}
