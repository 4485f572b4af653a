package vcard

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// NSTemp is the namespace of XEP-0054 vcard-temp.
const NSTemp = "vcard-temp"

// ErrTooLarge is wrapped by every error that refuses input for its size or
// shape (bytes, depth, number of elements, cards or properties).
var ErrTooLarge = errors.New("vcard: input too large")

// Photo is a picture with its MIME type.
type Photo struct {
	Type string // MIME type, e.g. "image/png"
	Data []byte
}

// Name holds the structured name (vCard N).
type Name struct {
	Family, Given, Middle, Prefix, Suffix string
}

func (n *Name) empty() bool {
	return n == nil || n.Family == "" && n.Given == "" && n.Middle == "" && n.Prefix == "" && n.Suffix == ""
}

// Org is the organisation and its units (vCard ORG).
type Org struct {
	Name  string
	Units []string
}

func (o *Org) empty() bool {
	if o == nil || o.Name != "" {
		return o == nil
	}
	for _, u := range o.Units {
		if u != "" {
			return false
		}
	}
	return true
}

// Fields are the vcard-temp elements this component owns. A nil pointer, a
// pointer to "", an empty slice or an empty struct leaves that element as the
// user had it: an MMS that did not say something must not erase it.
type Fields struct {
	Photo    *Photo  // PHOTO (TYPE + BINVAL)
	Desc     *string // DESC: the status line
	Nickname *string // NICKNAME
	FN       *string
	N        *Name
	Org      *Org
	Title    *string
	Emails   []string // every EMAIL element is replaced by these
	URL      *string
	BDay     *string
	Note     *string
}

// TempLimits bound what ParseTemp accepts. A zero field takes its default.
type TempLimits struct {
	Bytes    int // default 256 KiB; the user's own PHOTO is most of it
	Depth    int // default 16; XEP-0054 itself needs 3
	Elements int // default 4096
}

func (l TempLimits) withDefaults() TempLimits {
	if l.Bytes <= 0 {
		l.Bytes = 256 << 10
	}
	if l.Depth <= 0 {
		l.Depth = 16
	}
	if l.Elements <= 0 {
		l.Elements = 4096
	}
	return l
}

// Temp is a parsed <vCard xmlns='vcard-temp'/>. It keeps every child of the
// root (elements, whitespace, comments, CDATA) as the exact bytes it came in,
// so that a merge rewrites only the elements we own.
type Temp struct {
	// start and end are the root's tags as they came. They are nil for an
	// empty input and for a root that came self-closing: such a root
	// held nothing whose namespaces depend on its declarations, so
	// Marshal writes it anew through an xml.Encoder with attrs, its
	// attributes other than namespace declarations.
	start, end []byte
	attrs      []xml.Attr
	// newNS is set when the root's default namespace is not vcard-temp (a
	// prefixed root such as <v:vCard xmlns:v='vcard-temp'>): elements we add
	// must then declare it themselves.
	newNS bool
	nodes []node
}

type node struct {
	owned string // vcard-temp local name when the node is an element in vcard-temp, else ""
	raw   []byte
}

// ParseTemp parses a vcard-temp document with the default TempLimits. Empty
// input (or only whitespace) gives an empty document.
func ParseTemp(raw []byte) (*Temp, error) {
	return TempLimits{}.Parse(raw)
}

// Parse parses a vcard-temp document within l.
func (l TempLimits) Parse(raw []byte) (*Temp, error) {
	t, err := l.withDefaults().parse(raw)
	if err != nil {
		return nil, fmt.Errorf("vcard: parse vcard-temp: %w", err)
	}
	return t, nil
}

func (l TempLimits) parse(raw []byte) (*Temp, error) {
	if len(raw) > l.Bytes {
		return nil, fmt.Errorf("document is %d bytes, more than the limit of %d: %w", len(raw), l.Bytes, ErrTooLarge)
	}
	t := &Temp{}
	if len(bytes.TrimSpace(raw)) == 0 {
		return t, nil
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	var (
		depth    int
		elements int
		rootDone bool
		root     xml.StartElement
		childAt  int64 // offset where the current top-level child began
	)
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if rootDone {
			// Only whitespace, comments and processing instructions may follow the root.
			if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 || isElement(tok) {
				return nil, errors.New("data after </vCard>")
			}
			continue
		}
		switch tok := tok.(type) {
		case xml.Directive:
			// A DOCTYPE could declare entities; a vCard from a server never has one.
			return nil, errors.New("DOCTYPE and other directives are not allowed")
		case xml.StartElement:
			elements++
			if elements > l.Elements {
				return nil, fmt.Errorf("more than %d elements: %w", l.Elements, ErrTooLarge)
			}
			depth++
			if depth > l.Depth {
				return nil, fmt.Errorf("elements nested deeper than %d: %w", l.Depth, ErrTooLarge)
			}
			if depth == 1 {
				if tok.Name.Local != "vCard" || tok.Name.Space != NSTemp {
					return nil, fmt.Errorf("root element is {%s}%s, want {%s}vCard", tok.Name.Space, tok.Name.Local, NSTemp)
				}
				root = tok.Copy()
				t.start = raw[off:d.InputOffset()]
				t.newNS = !hasDefaultNS(tok)
				childAt = d.InputOffset()
			} else if depth == 2 {
				childAt = off
			}
		case xml.EndElement:
			depth--
			switch depth {
			case 0:
				rootDone = true
				if off == d.InputOffset() {
					// The decoder made up this end: the root was <vCard/>.
					t.start, t.newNS, t.attrs = nil, false, ownAttrs(root)
				} else {
					t.end = raw[off:d.InputOffset()]
				}
			case 1:
				n := node{raw: raw[childAt:d.InputOffset()]}
				if tok.Name.Space == NSTemp {
					n.owned = tok.Name.Local
				}
				t.nodes = append(t.nodes, n)
				childAt = d.InputOffset()
			}
		default:
			if depth == 0 {
				if cd, ok := tok.(xml.CharData); ok && len(bytes.TrimSpace(cd)) > 0 {
					return nil, errors.New("text outside <vCard>")
				}
				continue
			}
			if depth == 1 {
				// Whitespace, text, CDATA, comments and PIs between children
				// are kept as they were.
				t.nodes = append(t.nodes, node{raw: raw[off:d.InputOffset()]})
				childAt = d.InputOffset()
			}
		}
	}
	if !rootDone {
		return nil, errors.New("no <vCard> element")
	}
	return t, nil
}

func isElement(tok xml.Token) bool {
	_, s := tok.(xml.StartElement)
	_, e := tok.(xml.EndElement)
	return s || e
}

// hasDefaultNS reports whether the root's own default namespace is
// vcard-temp, i.e. whether unprefixed children are in vcard-temp.
func hasDefaultNS(root xml.StartElement) bool {
	for _, a := range root.Attr {
		if a.Name.Space == "" && a.Name.Local == "xmlns" {
			return a.Value == NSTemp
		}
	}
	return false
}

// ownAttrs returns the root's attributes without its namespace
// declarations, which the encoder writes from the element's name.
func ownAttrs(root xml.StartElement) []xml.Attr {
	var attrs []xml.Attr
	for _, a := range root.Attr {
		if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
			continue
		}
		attrs = append(attrs, a)
	}
	return attrs
}

// Marshal returns the document as XML. Untouched children come out as the
// exact bytes they went in.
func (t *Temp) Marshal() []byte {
	size := len(t.start) + len(t.end)
	for _, n := range t.nodes {
		size += len(n.raw)
	}
	b := bytes.NewBuffer(make([]byte, 0, size+64))
	if t.start != nil {
		b.Write(t.start)
		t.writeNodes(b)
		b.Write(t.end)
		return b.Bytes()
	}
	// The raw children go between the encoder's start and end tags; the
	// flushes keep them in order in b.
	e := xml.NewEncoder(b)
	root := xml.StartElement{Name: xml.Name{Space: NSTemp, Local: "vCard"}, Attr: t.attrs}
	// Neither call can fail: the name is fixed, the attributes came
	// through the decoder, and b takes every write.
	_ = e.EncodeToken(root)
	_ = e.Flush()
	t.writeNodes(b)
	_ = e.EncodeToken(root.End())
	_ = e.Flush()
	return b.Bytes()
}

func (t *Temp) writeNodes(b *bytes.Buffer) {
	for _, n := range t.nodes {
		b.Write(n.raw)
	}
}

// Apply replaces the elements named by f and leaves every other child as it
// was. The first existing element of a kind is replaced in place and any
// duplicates are dropped, so a field never appears twice; kinds that were
// missing are appended at the end.
func (t *Temp) Apply(f Fields) {
	repl := t.replacements(f)
	if len(repl) == 0 {
		return
	}
	placed := make(map[string]bool, len(repl))
	nodes := make([]node, 0, len(t.nodes)+len(repl))
	for _, n := range t.nodes {
		r, ours := repl[n.owned]
		if n.owned == "" || !ours {
			nodes = append(nodes, n)
			continue
		}
		if !placed[n.owned] {
			placed[n.owned] = true
			nodes = append(nodes, node{owned: n.owned, raw: r})
		}
	}
	// Missing kinds go in XEP-0054's schema order so new documents read naturally.
	for _, name := range []string{"FN", "N", "NICKNAME", "PHOTO", "BDAY", "EMAIL", "TITLE", "ORG", "NOTE", "URL", "DESC"} {
		if r, ok := repl[name]; ok && !placed[name] {
			nodes = append(nodes, node{owned: name, raw: r})
		}
	}
	t.nodes = nodes
}

// replacements renders the new bytes for each element kind that f sets.
func (t *Temp) replacements(f Fields) map[string][]byte {
	r := make(map[string][]byte)
	text := func(name string, v *string) {
		if v != nil && *v != "" {
			w := t.writer()
			w.element(name)
			w.text(*v)
			w.close()
			r[name] = w.bytes()
		}
	}
	text("FN", f.FN)
	text("NICKNAME", f.Nickname)
	text("BDAY", f.BDay)
	text("TITLE", f.Title)
	text("NOTE", f.Note)
	text("URL", f.URL)
	text("DESC", f.Desc)
	if !f.N.empty() {
		w := t.writer()
		w.element("N")
		w.child("FAMILY", f.N.Family)
		w.child("GIVEN", f.N.Given)
		w.child("MIDDLE", f.N.Middle)
		w.child("PREFIX", f.N.Prefix)
		w.child("SUFFIX", f.N.Suffix)
		w.close()
		r["N"] = w.bytes()
	}
	if !f.Org.empty() {
		w := t.writer()
		w.element("ORG")
		// ORGNAME is required by the XEP's DTD, so it is written even when empty.
		w.start("ORGNAME")
		w.text(f.Org.Name)
		w.close()
		for _, u := range f.Org.Units {
			w.child("ORGUNIT", u)
		}
		w.close()
		r["ORG"] = w.bytes()
	}
	emails := t.writer()
	first := true
	for _, e := range f.Emails {
		if e == "" {
			continue
		}
		emails.element("EMAIL")
		emails.empty("INTERNET")
		if first {
			emails.empty("PREF")
			first = false
		}
		emails.child("USERID", e)
		emails.close()
	}
	if !first {
		r["EMAIL"] = emails.bytes()
	}
	if f.Photo != nil && len(f.Photo.Data) > 0 {
		typ := f.Photo.Type
		if typ == "" {
			typ = http.DetectContentType(f.Photo.Data)
		}
		w := t.writer()
		w.element("PHOTO")
		w.child("TYPE", typ)
		w.start("BINVAL")
		w.base64(f.Photo.Data)
		w.close()
		w.close()
		r["PHOTO"] = w.bytes()
	}
	return r
}

// elementWriter writes the elements we add through an xml.Encoder. Its
// calls return no errors: EncodeToken fails only on an empty or unmatched
// name, which these fixed names never are, and a bytes.Buffer takes every
// write.
type elementWriter struct {
	b bytes.Buffer
	e *xml.Encoder
	// ns is the namespace of the elements the root holds: "" when the
	// root's default namespace is vcard-temp, else vcard-temp, which the
	// encoder then declares on each.
	ns   string
	open []xml.Name // the elements started and not yet ended
}

func (t *Temp) writer() *elementWriter {
	w := &elementWriter{}
	w.e = xml.NewEncoder(&w.b)
	if t.newNS {
		w.ns = NSTemp
	}
	return w
}

// element starts a child of the root.
func (w *elementWriter) element(name string) { w.begin(xml.Name{Space: w.ns, Local: name}) }

// start starts an element inside a child of the root; it inherits the
// child's namespace.
func (w *elementWriter) start(name string) { w.begin(xml.Name{Local: name}) }

func (w *elementWriter) begin(name xml.Name) {
	w.open = append(w.open, name)
	_ = w.e.EncodeToken(xml.StartElement{Name: name})
}

// close ends the innermost open element.
func (w *elementWriter) close() {
	name := w.open[len(w.open)-1]
	w.open = w.open[:len(w.open)-1]
	_ = w.e.EncodeToken(xml.EndElement{Name: name})
}

// empty writes <name/> inside a child of the root.
func (w *elementWriter) empty(name string) {
	w.start(name)
	w.close()
}

// child writes <name>v</name> inside a child of the root, or nothing when
// v is empty: XEP-0054 makes every sub-element of N optional and empty
// ones only add noise.
func (w *elementWriter) child(name, v string) {
	if v == "" {
		return
	}
	w.start(name)
	w.text(v)
	w.close()
}

// text writes v as character data. Characters XML 1.0 cannot carry are
// dropped rather than replaced, so a stray control byte does not show up
// as U+FFFD.
func (w *elementWriter) text(v string) {
	v = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
			return r
		}
		return -1
	}, v)
	_ = w.e.EncodeToken(xml.CharData(v))
}

// base64 writes data base64-encoded as character data. The alphabet
// (A-Z, a-z, 0-9, +, /, =) holds nothing XML escapes or refuses, so the
// text goes into the buffer as encoded, past the encoder's escaping,
// which looked at each of a PHOTO's hundred thousand characters in turn
// and tripled the cost of a merge.
func (w *elementWriter) base64(data []byte) {
	_ = w.e.Flush()
	enc := base64.NewEncoder(base64.StdEncoding, &w.b)
	_, _ = enc.Write(data)
	_ = enc.Close()
}

func (w *elementWriter) bytes() []byte {
	_ = w.e.Flush()
	return w.b.Bytes()
}

// PhotoSHA1 returns the hex SHA-1 of the first PHOTO's decoded BINVAL, the
// hash XEP-0153 advertises in presence, or "" when there is no usable photo.
func (t *Temp) PhotoSHA1() string {
	for _, n := range t.nodes {
		if n.owned != "PHOTO" {
			continue
		}
		data, ok := binval(n.raw)
		if !ok {
			return ""
		}
		sum := sha1.Sum(data)
		return hex.EncodeToString(sum[:])
	}
	return ""
}

// binval decodes the BINVAL of a raw PHOTO element. Matching is on local
// names only: the fragment may use a prefix declared on the root.
func binval(raw []byte) ([]byte, bool) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	var (
		in    bool
		text  []byte
		found bool
	)
	for {
		tok, err := d.Token()
		if err != nil {
			break
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			in = tok.Name.Local == "BINVAL"
			found = found || in
		case xml.EndElement:
			if in {
				return decodeBase64(text)
			}
		case xml.CharData:
			if in {
				text = append(text, tok...)
			}
		}
	}
	if found {
		return decodeBase64(text)
	}
	return nil, false
}

// decodeBase64 accepts the line-wrapped and unpadded base64 clients write.
func decodeBase64(text []byte) ([]byte, bool) {
	clean := bytes.Map(func(r rune) rune {
		if r == ' ' || r == '\t' || r == '\r' || r == '\n' || r == '=' {
			return -1
		}
		return r
	}, text)
	data, err := base64.RawStdEncoding.DecodeString(string(clean))
	if err != nil || len(data) == 0 {
		return nil, false
	}
	return data, true
}
