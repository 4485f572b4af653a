package email

import (
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"fmt"
	"net/netip"
	"path"
	"regexp"
	"strings"

	"github.com/BurntSushi/toml"
)

// Carrier describes one MMS-to-e-mail gateway: how its senders map to
// numbers, how they authenticate, and the decoration it adds around the
// user's content. Decoration is data (carriers.toml), not code, so a new
// carrier is a config entry, not a release.
type Carrier struct {
	Domain string `toml:"domain"`
	// Aliases are other domains the same gateway sends from.
	Aliases []string `toml:"aliases"`
	// CountryCode (digits) makes national numbers in the local part E.164.
	CountryCode string `toml:"country_code"`
	// Auth lists the methods that authenticate this carrier's mail
	// (AuthDKIM, AuthSPF, AuthRelay, AuthMX); empty allows all of them.
	Auth []string `toml:"auth"`
	// Relays are connecting IPs trusted for this carrier's domains only.
	Relays []netip.Prefix `toml:"-"`

	// Ignore marks parts that are carrier decoration, never user content.
	Ignore []IgnoreRule `toml:"ignore"`
	// Strip removes boilerplate from the user's text (footers, headers).
	Strip []StripRule `toml:"strip"`
	// SubjectIgnore: a subject matching one of these is the gateway's
	// default, not something the user typed.
	SubjectIgnore []string `toml:"subject_ignore"`
	// HTMLText, when set, is a pattern whose first group cuts the user's
	// text out of the carrier's HTML template; HTML that does not match
	// yields no text. Unset, the whole HTML is turned into text.
	HTMLText string `toml:"html_text"`
	// NumberPattern finds the sender's number in the message body (first
	// group) when the local part is not one (Sprint's MDN).
	NumberPattern string `toml:"number_pattern"`
}

// IgnoreRule matches a part that is decoration. All set fields must match.
type IgnoreRule struct {
	// Type is a media type pattern: "image/gif", "image/*", "text/html".
	Type string `toml:"type"`
	// Name matches the filename, the Content-ID or the name parameter.
	Name string `toml:"name"`
	// Body matches the part's text (text parts only).
	Body string `toml:"body"`
	// SHA256 (hex) matches the decoded bytes: a logo known by its content
	// when nothing else tells it from the user's picture.
	SHA256 string `toml:"sha256"`
}

// StripRule replaces Pattern in the user's text with Replace ($1 etc.).
type StripRule struct {
	Pattern string `toml:"pattern"`
	Replace string `toml:"replace"`
}

//go:embed carriers.toml
var carriersTOML string

// DefaultCarriers returns the built-in carrier table (a fresh copy).
func DefaultCarriers() []Carrier {
	var f struct {
		Carrier []Carrier `toml:"carrier"`
	}
	if _, err := toml.Decode(carriersTOML, &f); err != nil {
		// The file is part of the build: a broken one fails every test.
		panic(fmt.Sprintf("email: carriers.toml: %v", err))
	}
	return f.Carrier
}

// MergeCarriers overlays over on base by domain: non-zero fields of an
// entry in over replace those of the base entry; new domains are added.
func MergeCarriers(base, over []Carrier) []Carrier {
	out := append([]Carrier(nil), base...)
	for _, o := range over {
		i := indexCarrier(out, o.Domain)
		if i < 0 {
			out = append(out, o)
			continue
		}
		b := &out[i]
		if o.Aliases != nil {
			b.Aliases = o.Aliases
		}
		if o.CountryCode != "" {
			b.CountryCode = o.CountryCode
		}
		if o.Auth != nil {
			b.Auth = o.Auth
		}
		if o.Relays != nil {
			b.Relays = o.Relays
		}
		if o.Ignore != nil {
			b.Ignore = o.Ignore
		}
		if o.Strip != nil {
			b.Strip = o.Strip
		}
		if o.SubjectIgnore != nil {
			b.SubjectIgnore = o.SubjectIgnore
		}
		if o.HTMLText != "" {
			b.HTMLText = o.HTMLText
		}
		if o.NumberPattern != "" {
			b.NumberPattern = o.NumberPattern
		}
	}
	return out
}

func indexCarrier(cs []Carrier, domain string) int {
	for i, c := range cs {
		if strings.EqualFold(c.Domain, domain) {
			return i
		}
	}
	return -1
}

// anyDomain names the entry whose rules apply to every sender (phone mail
// clients' "Sent from my iPhone" and the like).
const anyDomain = "*"

type ignoreRule struct {
	typ        string
	name, body *regexp.Regexp
	sha256     string
}

type stripRule struct {
	re      *regexp.Regexp
	replace string
}

// carrierRules is a Carrier with its patterns compiled.
type carrierRules struct {
	Carrier
	ignore   []ignoreRule
	strip    []stripRule
	subject  []*regexp.Regexp
	htmlText *regexp.Regexp
	number   *regexp.Regexp
	auth     map[string]bool
}

// carrierTable finds the rules for a sender domain.
type carrierTable struct {
	byDomain map[string]*carrierRules
	any      *carrierRules
}

func compileCarriers(cs []Carrier) (*carrierTable, error) {
	t := &carrierTable{byDomain: make(map[string]*carrierRules)}
	for _, c := range cs {
		r, err := compileCarrier(c)
		if err != nil {
			return nil, err
		}
		if c.Domain == anyDomain {
			t.any = r
			continue
		}
		for _, d := range append([]string{c.Domain}, c.Aliases...) {
			t.byDomain[strings.ToLower(d)] = r
		}
	}
	if t.any == nil {
		t.any = &carrierRules{}
	}
	return t, nil
}

func compileCarrier(c Carrier) (*carrierRules, error) {
	r := &carrierRules{Carrier: c}
	re := func(what, s string) (*regexp.Regexp, error) {
		if s == "" {
			return nil, nil
		}
		x, err := regexp.Compile(s)
		if err != nil {
			return nil, fmt.Errorf("email: carrier %s: %s %q: %w", c.Domain, what, s, err)
		}
		return x, nil
	}
	for _, ig := range c.Ignore {
		n, err := re("ignore name", ig.Name)
		if err != nil {
			return nil, err
		}
		b, err := re("ignore body", ig.Body)
		if err != nil {
			return nil, err
		}
		r.ignore = append(r.ignore, ignoreRule{typ: strings.ToLower(ig.Type), name: n, body: b, sha256: strings.ToLower(ig.SHA256)})
	}
	for _, s := range c.Strip {
		x, err := re("strip", s.Pattern)
		if err != nil {
			return nil, err
		}
		r.strip = append(r.strip, stripRule{re: x, replace: s.Replace})
	}
	for _, s := range c.SubjectIgnore {
		x, err := re("subject_ignore", s)
		if err != nil {
			return nil, err
		}
		r.subject = append(r.subject, x)
	}
	var err error
	if r.htmlText, err = re("html_text", c.HTMLText); err != nil {
		return nil, err
	}
	if r.number, err = re("number_pattern", c.NumberPattern); err != nil {
		return nil, err
	}
	if len(c.Auth) > 0 {
		r.auth = make(map[string]bool)
		for _, a := range c.Auth {
			r.auth[strings.ToLower(a)] = true
		}
	}
	return r, nil
}

// lookup returns the carrier for domain (or one of its parents, so
// "mmsout.mms.att.net" finds "mms.att.net"), or nil.
func (t *carrierTable) lookup(domain string) *carrierRules {
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	for domain != "" {
		if r, ok := t.byDomain[domain]; ok {
			return r
		}
		i := strings.IndexByte(domain, '.')
		if i < 0 {
			break
		}
		domain = domain[i+1:]
	}
	return nil
}

// allows reports whether method may authenticate this carrier's mail.
func (r *carrierRules) allows(method string) bool {
	return r == nil || r.auth == nil || r.auth[method]
}

func (ig ignoreRule) matches(p *leaf) bool {
	if ig.typ != "" && ig.typ != "*" {
		if ok, _ := path.Match(ig.typ, p.mediaType); !ok {
			return false
		}
	}
	if ig.name != nil {
		if !ig.name.MatchString(p.filename) && !ig.name.MatchString(p.contentID) && !ig.name.MatchString(p.name) {
			return false
		}
	}
	if ig.body != nil && !ig.body.Match(p.text) {
		return false
	}
	if ig.sha256 != "" {
		sum := sha256.Sum256(p.data)
		if hex.EncodeToString(sum[:]) != ig.sha256 {
			return false
		}
	}
	return true
}

// isDecoration reports whether any of the rule sets calls p decoration.
func isDecoration(p *leaf, sets ...*carrierRules) bool {
	for _, s := range sets {
		if s == nil {
			continue
		}
		for _, ig := range s.ignore {
			if ig.matches(p) {
				return true
			}
		}
	}
	return false
}

func stripText(s string, sets ...*carrierRules) string {
	for _, set := range sets {
		if set == nil {
			continue
		}
		for _, st := range set.strip {
			s = st.re.ReplaceAllString(s, st.replace)
		}
	}
	return s
}

func ignoredSubject(s string, sets ...*carrierRules) bool {
	for _, set := range sets {
		if set == nil {
			continue
		}
		for _, re := range set.subject {
			if re.MatchString(s) {
				return true
			}
		}
	}
	return false
}
