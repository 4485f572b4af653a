package vcard

import (
	"errors"
	"fmt"
	"io"
	"strings"

	govcard "github.com/emersion/go-vcard"
)

// ErrNoCard means the input holds no usable vCard at all.
var ErrNoCard = errors.New("vcard: no vCard found")

// Limits bound what ParseVCF accepts. A zero field takes its default.
type Limits struct {
	Bytes      int64 // whole input; default 1 MiB
	Cards      int   // default 1000
	Properties int   // per card; default 200
	// LineLength bounds one unfolded property, default 64 KiB. Inline
	// PHOTO, LOGO, SOUND and KEY are exempt (a phone writes a photo as one
	// long property); Bytes bounds them.
	LineLength int
}

func (l Limits) withDefaults() Limits {
	if l.Bytes <= 0 {
		l.Bytes = 1 << 20
	}
	if l.Cards <= 0 {
		l.Cards = 1000
	}
	if l.Properties <= 0 {
		l.Properties = 200
	}
	if l.LineLength <= 0 {
		l.LineLength = 64 << 10
	}
	return l
}

// Warning reports a part of the input that was skipped while the rest was
// used.
type Warning struct {
	Card   int // 1-based; 0 for text outside any card
	Line   int // 1-based line where the property starts; 0 if not tied to a line
	Reason string
}

func (w Warning) String() string {
	switch {
	case w.Card == 0 && w.Line == 0:
		return w.Reason
	case w.Card == 0:
		return fmt.Sprintf("line %d: %s", w.Line, w.Reason)
	case w.Line == 0:
		return fmt.Sprintf("card %d: %s", w.Card, w.Reason)
	}
	return fmt.Sprintf("card %d, line %d: %s", w.Card, w.Line, w.Reason)
}

// maxWarnings keeps a hostile file from producing a warning per line.
const maxWarnings = 50

// Card is one contact from a .vcf. All text is valid UTF-8 without control
// characters (NOTE keeps its line breaks), trimmed of surrounding space.
type Card struct {
	Version  string // "2.1", "3.0", "4.0" or as written
	FN       string
	N        Name
	Nickname string
	Org      string
	OrgUnits []string
	Title    string
	BDay     string // as written, except 2.1's YYYYMMDD becomes YYYY-MM-DD
	Note     string
	URL      string
	Emails   []string
	Tels     []string // as written; compare with HasNumber
	Photo    *Photo   // inline photos only: a PHOTO link is never fetched
}

// Personal fields a sender's own card may set, as named to Card.Fields' allow.
const (
	FieldFN       = "FN"
	FieldN        = "N"
	FieldNickname = "NICKNAME"
	FieldOrg      = "ORG"
	FieldTitle    = "TITLE"
	FieldEmail    = "EMAIL"
	FieldURL      = "URL"
	FieldBDay     = "BDAY"
	FieldNote     = "NOTE"
	FieldPhoto    = "PHOTO"
)

// ParseVCF reads every card in r. Malformed properties, embedded cards and
// links are skipped and reported in the warnings; the error is non-nil only
// when the input is too large (wrapping ErrTooLarge) or holds no card
// (ErrNoCard).
func ParseVCF(r io.Reader, lim Limits) ([]Card, []Warning, error) {
	lim = lim.withDefaults()
	data, err := io.ReadAll(io.LimitReader(r, lim.Bytes+1))
	if err != nil {
		return nil, nil, fmt.Errorf("vcard: parse: read: %w", err)
	}
	if int64(len(data)) > lim.Bytes {
		return nil, nil, fmt.Errorf("vcard: parse: the contact file is larger than %s: %w", sizeText(lim.Bytes), ErrTooLarge)
	}
	p := &vcfParser{lim: lim, in: newLines(decodeBOM(data))}
	cards, err := p.parse()
	if err != nil {
		return nil, p.warnings(), fmt.Errorf("vcard: parse: %w", err)
	}
	return cards, p.warnings(), nil
}

func sizeText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

type vcfParser struct {
	lim     Limits
	in      *lines
	warns   []Warning
	dropped int
	card    int // number of the current (or last) card, 1-based
}

func (p *vcfParser) warn(line int, format string, args ...any) {
	if len(p.warns) >= maxWarnings {
		p.dropped++
		return
	}
	p.warns = append(p.warns, Warning{Card: p.card, Line: line, Reason: fmt.Sprintf(format, args...)})
}

func (p *vcfParser) warnings() []Warning {
	if p.dropped > 0 {
		return append(p.warns, Warning{Reason: fmt.Sprintf("%d more warnings not shown", p.dropped)})
	}
	return p.warns
}

// parse walks the logical lines, cutting them into cards. Each card's
// properties are normalised into a form go-vcard reads correctly (see
// normalise) and then decoded by go-vcard.
func (p *vcfParser) parse() ([]Card, error) {
	var (
		cards    []Card
		inCard   bool
		nested   int // depth inside an embedded card (2.1 AGENT), skipped
		props    int
		norm     strings.Builder
		version  string
		junkSeen bool
	)
	finish := func() {
		norm.WriteString("END:VCARD\r\n")
		if c, ok := p.decode(norm.String(), version); ok {
			cards = append(cards, c)
		}
		inCard = false
	}
	for {
		l, ok := p.in.next(version == "2.1")
		if !ok {
			break
		}
		if strings.TrimSpace(l.text) == "" {
			continue
		}
		name, _, value, hasColon := splitProperty(l.text)
		isBegin := hasColon && strings.EqualFold(name, "BEGIN") && strings.EqualFold(strings.TrimSpace(value), "VCARD")
		isEnd := hasColon && strings.EqualFold(name, "END") && strings.EqualFold(strings.TrimSpace(value), "VCARD")
		switch {
		case !inCard:
			if !isBegin {
				if !junkSeen {
					p.warn(l.line, "text outside a card ignored")
					junkSeen = true
				}
				continue
			}
			if p.card >= p.lim.Cards {
				return nil, fmt.Errorf("more than %d contacts in one file: %w", p.lim.Cards, ErrTooLarge)
			}
			p.card++
			inCard, props, version = true, 0, ""
			norm.Reset()
			norm.WriteString("BEGIN:VCARD\r\n")
		case nested > 0:
			if isBegin {
				nested++
			} else if isEnd {
				nested--
			}
		case isBegin:
			nested = 1
			p.warn(l.line, "embedded card (AGENT) skipped")
		case isEnd:
			finish()
		default:
			props++
			if props > p.lim.Properties {
				return nil, fmt.Errorf("contact %d has more than %d properties: %w", p.card, p.lim.Properties, ErrTooLarge)
			}
			if len(l.text) > p.lim.LineLength && !isBinaryProperty(name) {
				return nil, fmt.Errorf("contact %d: property %.20s is %d bytes long, more than the limit of %d: %w",
					p.card, name, len(l.text), p.lim.LineLength, ErrTooLarge)
			}
			out, v, ok := p.normalise(l)
			if !ok {
				continue
			}
			if v != "" {
				version = v
			}
			norm.WriteString(out)
			norm.WriteString("\r\n")
		}
	}
	if inCard {
		p.warn(0, "no END:VCARD; the card was read to the end of the file")
		finish()
	}
	if len(cards) == 0 {
		return nil, ErrNoCard
	}
	return cards, nil
}

// decode runs go-vcard over one normalised card and maps the result.
func (p *vcfParser) decode(text, version string) (Card, bool) {
	vc, err := govcard.NewDecoder(strings.NewReader(text)).Decode()
	if err != nil {
		// normalise only writes lines go-vcard accepts; this is a safety net.
		p.warn(0, "card skipped: %v", err)
		return Card{}, false
	}
	c := Card{Version: cleanLine(version)}
	c.FN = cleanLine(unescapeText(vc.PreferredValue(govcard.FieldFormattedName)))
	if f := vc.Preferred(govcard.FieldName); f != nil {
		parts := splitStructured(f.Value)
		c.N = Name{
			Family: cleanLine(part(parts, 0)),
			Given:  cleanLine(part(parts, 1)),
			Middle: cleanLine(part(parts, 2)),
			Prefix: cleanLine(part(parts, 3)),
			Suffix: cleanLine(part(parts, 4)),
		}
	}
	c.Nickname = cleanLine(unescapeText(vc.PreferredValue(govcard.FieldNickname)))
	if f := vc.Preferred(govcard.FieldOrganization); f != nil {
		parts := splitStructured(f.Value)
		c.Org = cleanLine(part(parts, 0))
		for _, u := range parts[min(1, len(parts)):] {
			if u = cleanLine(u); u != "" {
				c.OrgUnits = append(c.OrgUnits, u)
			}
		}
	}
	c.Title = cleanLine(unescapeText(vc.PreferredValue(govcard.FieldTitle)))
	c.BDay = normaliseBDay(cleanLine(vc.PreferredValue(govcard.FieldBirthday)))
	c.Note = cleanText(unescapeText(vc.PreferredValue(govcard.FieldNote)))
	c.URL = cleanLine(vc.PreferredValue(govcard.FieldURL))
	for _, e := range vc.Values(govcard.FieldEmail) {
		e = cleanLine(e)
		e = strings.TrimPrefix(e, "mailto:")
		if e != "" {
			c.Emails = append(c.Emails, e)
		}
	}
	for _, t := range vc.Values(govcard.FieldTelephone) {
		if t = cleanLine(t); t != "" {
			c.Tels = append(c.Tels, t)
		}
	}
	if f := vc.Preferred(govcard.FieldPhoto); f != nil {
		ph, reason := photo(f)
		if reason != "" {
			p.warn(0, "PHOTO skipped: %s", reason)
		}
		c.Photo = ph
	}
	return c, true
}

func part(parts []string, i int) string {
	if i < len(parts) {
		return unescapeText(parts[i])
	}
	return ""
}

// splitStructured splits N or ORG at ';' that are not escaped. go-vcard's own
// Name splits at every ';', which cuts "Smith\; Jr." in two.
func splitStructured(v string) []string {
	var (
		parts []string
		cur   strings.Builder
	)
	for i := 0; i < len(v); i++ {
		switch {
		case v[i] == '\\' && i+1 < len(v):
			cur.WriteByte(v[i])
			cur.WriteByte(v[i+1])
			i++
		case v[i] == ';':
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(v[i])
		}
	}
	return append(parts, cur.String())
}

// unescapeText undoes the escapes go-vcard leaves in place (it handles only
// \\, \n and \,).
func unescapeText(v string) string {
	if !strings.Contains(v, `\`) {
		return v
	}
	return strings.NewReplacer(`\;`, ";", `\N`, "\n", `\:`, ":").Replace(v)
}

// normaliseBDay writes vCard 2.1/3.0's basic date form as the extended form
// XEP-0054 asks for; anything else is passed on as written.
func normaliseBDay(s string) string {
	if len(s) != 8 {
		return s
	}
	for i := 0; i < 8; i++ {
		if s[i] < '0' || s[i] > '9' {
			return s
		}
	}
	return s[:4] + "-" + s[4:6] + "-" + s[6:]
}

// HasNumber reports whether one of the card's TEL numbers, normalised with
// normalize, equals e164. Numbers normalize rejects are ignored.
func (c Card) HasNumber(e164 string, normalize func(string) (string, error)) bool {
	if e164 == "" {
		return false
	}
	for _, t := range c.Tels {
		// vCard 4.0 writes TEL as a tel: URI, possibly with ;ext= parameters.
		if len(t) > 4 && strings.EqualFold(t[:4], "tel:") {
			t = t[4:]
			if i := strings.IndexByte(t, ';'); i >= 0 {
				t = t[:i]
			}
		}
		n, err := normalize(t)
		if err == nil && n == e164 {
			return true
		}
	}
	return false
}

// Fields returns the card's personal fields that allow lets through, for
// Temp.Apply. A nil allow lets everything through. Empty values are left out
// so they never erase what the user has.
func (c Card) Fields(allow func(field string) bool) Fields {
	ok := func(field string) bool { return allow == nil || allow(field) }
	str := func(field, v string) *string {
		if v == "" || !ok(field) {
			return nil
		}
		return &v
	}
	f := Fields{
		FN:       str(FieldFN, c.FN),
		Nickname: str(FieldNickname, c.Nickname),
		Title:    str(FieldTitle, c.Title),
		URL:      str(FieldURL, c.URL),
		BDay:     str(FieldBDay, c.BDay),
		Note:     str(FieldNote, c.Note),
	}
	if n := c.N; !n.empty() && ok(FieldN) {
		f.N = &n
	}
	if (c.Org != "" || len(c.OrgUnits) > 0) && ok(FieldOrg) {
		f.Org = &Org{Name: c.Org, Units: append([]string(nil), c.OrgUnits...)}
	}
	if len(c.Emails) > 0 && ok(FieldEmail) {
		f.Emails = append([]string(nil), c.Emails...)
	}
	if c.Photo != nil && len(c.Photo.Data) > 0 && ok(FieldPhoto) {
		ph := *c.Photo
		f.Photo = &ph
	}
	return f
}

// DisplayName is what to call the contact in a message to the user: FN, else
// the name from N, else the first number.
func (c Card) DisplayName() string {
	if c.FN != "" {
		return c.FN
	}
	var parts []string
	for _, s := range []string{c.N.Prefix, c.N.Given, c.N.Middle, c.N.Family, c.N.Suffix} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	if len(parts) > 0 {
		return strings.Join(parts, " ")
	}
	if c.Nickname != "" {
		return c.Nickname
	}
	if len(c.Tels) > 0 {
		return c.Tels[0]
	}
	return ""
}
