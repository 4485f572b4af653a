package pep

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// XEP-0292 vCard4 over XMPP: the node, and the RFC 6351 xCard namespace of
// its payload.
const (
	NodeVCard4 = "urn:xmpp:vcard4"
	NSVCard4   = "urn:ietf:params:xml:ns:vcard-4.0"
)

// nsVCardTemp is XEP-0054's namespace, the input of VCard4FromTemp.
const nsVCardTemp = "vcard-temp"

// maxVCard4Bytes bounds the vCard4 item read back from a server: it holds
// text fields only (no photo), so a large one is not a vCard we should
// copy into the next publish.
const maxVCard4Bytes = 256 << 10

// VCard4 is a XEP-0292 <vcard/>: its xCard properties in order, each kept
// as the XML bytes it is written as.
type VCard4 struct {
	props []prop
}

type prop struct {
	name string // local name, e.g. "note"
	raw  []byte // the whole element, in NSVCard4 as the default namespace
}

// Empty reports whether v has no property.
func (v VCard4) Empty() bool { return len(v.props) == 0 }

// Marshal returns the <vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/>.
func (v VCard4) Marshal() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<vcard xmlns='%s'>`, NSVCard4)
	for _, p := range v.props {
		b.Write(p.raw)
	}
	b.WriteString(`</vcard>`)
	return b.Bytes()
}

// VCard4Publish returns the <pubsub/> payload that publishes v as item
// "current" of urn:xmpp:vcard4 (XEP-0292). It carries no publish-options:
// options that differ from an existing node's configuration fail with
// precondition-not-met, and the PEP defaults (contacts may read, one
// item) are what XEP-0292 expects.
func VCard4Publish(v VCard4) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<pubsub xmlns='%s'><publish node='%s'><item id='current'>`, NSPubSub, NodeVCard4)
	b.Write(v.Marshal())
	b.WriteString(`</item></publish></pubsub>`)
	return b.Bytes()
}

// VCard4Request is the <pubsub/> payload of an IQ get that reads the
// current vCard4 item.
func VCard4Request() []byte {
	return []byte(fmt.Sprintf(`<pubsub xmlns='%s'><items node='%s' max_items='1'/></pubsub>`, NSPubSub, NodeVCard4))
}

// tempNode is any element of a vcard-temp document, read by local name.
type tempNode struct {
	XMLName  xml.Name
	Text     string     `xml:",chardata"`
	Children []tempNode `xml:",any"`
}

func (n *tempNode) child(local string) string {
	for _, c := range n.Children {
		if c.XMLName.Local == local {
			return strings.TrimSpace(c.Text)
		}
	}
	return ""
}

func (n *tempNode) has(local string) bool {
	for _, c := range n.Children {
		if c.XMLName.Local == local {
			return true
		}
	}
	return false
}

// VCard4FromTemp builds the vCard4 that says what a vcard-temp document
// (XEP-0054) says, so that clients reading either see the same profile:
// FN, N, NICKNAME, BDAY, DESC and NOTE (both as note, DESC — the status
// line — first), TITLE, ROLE, ORG, EMAIL, TEL, ADR, JABBERID (impp) and
// URL, mapped as Prosody's mod_vcard_legacy maps them so both paths give
// clients the same shapes. PHOTO is left out on purpose: the avatar is
// XEP-0084, and a copy inlined here would double every vCard4 event.
// Fields XEP-0292 has no place for (X-… extensions) stay in vcard-temp only.
func VCard4FromTemp(raw []byte) (VCard4, error) {
	var doc tempNode
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := xml.Unmarshal(raw, &doc); err != nil {
			return VCard4{}, fmt.Errorf("pep: vcard4 from vcard-temp: %w", err)
		}
		if doc.XMLName.Local != "vCard" || doc.XMLName.Space != nsVCardTemp {
			return VCard4{}, fmt.Errorf("pep: vcard4 from vcard-temp: root is {%s}%s", doc.XMLName.Space, doc.XMLName.Local)
		}
	}
	byName := map[string][]*tempNode{}
	for i := range doc.Children {
		c := &doc.Children[i]
		if c.XMLName.Space == nsVCardTemp {
			byName[c.XMLName.Local] = append(byName[c.XMLName.Local], c)
		}
	}
	var v VCard4
	add := func(name string, body func(b *bytes.Buffer) bool) {
		var b bytes.Buffer
		b.WriteString("<" + name + ">")
		if !body(&b) {
			return
		}
		b.WriteString("</" + name + ">")
		v.props = append(v.props, prop{name: name, raw: b.Bytes()})
	}
	// text adds one property per element of kind from, as <to><typ>…</typ></to>.
	text := func(from, to, typ string) {
		for _, n := range byName[from] {
			s := strings.TrimSpace(n.Text)
			add(to, func(b *bytes.Buffer) bool { return s != "" && elem(b, typ, s) })
		}
	}
	text("FN", "fn", "text")
	for _, n := range byName["N"] {
		add("n", func(b *bytes.Buffer) bool {
			// RFC 6351 requires all five components, empty ones included.
			some := false
			for _, c := range [][2]string{{"FAMILY", "surname"}, {"GIVEN", "given"}, {"MIDDLE", "additional"}, {"PREFIX", "prefix"}, {"SUFFIX", "suffix"}} {
				s := n.child(c[0])
				some = some || s != ""
				always(b, c[1], s)
			}
			return some
		})
	}
	text("NICKNAME", "nickname", "text")
	for _, n := range byName["BDAY"] {
		s := strings.TrimSpace(n.Text)
		typ := "date"
		if strings.Trim(s, "0123456789-") != "" {
			typ = "text" // "circa 1800" and the like: RFC 6350 allows text
		}
		add("bday", func(b *bytes.Buffer) bool { return s != "" && elem(b, typ, s) })
	}
	text("DESC", "note", "text")
	text("NOTE", "note", "text")
	text("TITLE", "title", "text")
	text("ROLE", "role", "text")
	for _, n := range byName["ORG"] {
		add("org", func(b *bytes.Buffer) bool {
			name := n.child("ORGNAME")
			var units []string
			for _, c := range n.Children {
				if c.XMLName.Local == "ORGUNIT" && strings.TrimSpace(c.Text) != "" {
					units = append(units, strings.TrimSpace(c.Text))
				}
			}
			if name == "" && len(units) == 0 {
				return false
			}
			always(b, "text", name)
			for _, u := range units {
				always(b, "text", u)
			}
			return true
		})
	}
	for _, n := range byName["EMAIL"] {
		add("email", func(b *bytes.Buffer) bool {
			s := n.child("USERID")
			if s == "" {
				return false
			}
			params(b, n)
			return elem(b, "text", s)
		})
	}
	for _, n := range byName["TEL"] {
		add("tel", func(b *bytes.Buffer) bool {
			s := n.child("NUMBER")
			if s == "" {
				return false
			}
			params(b, n, "VOICE", "FAX", "CELL", "VIDEO", "PAGER", "TEXT")
			// A tel: URI has no spaces; RFC 3966 takes "-" as the visual
			// separator.
			return elem(b, "uri", "tel:"+strings.Join(strings.Fields(s), "-"))
		})
	}
	for _, n := range byName["ADR"] {
		add("adr", func(b *bytes.Buffer) bool {
			var parts bytes.Buffer
			some := false
			for _, c := range [][2]string{{"POBOX", "pobox"}, {"EXTADD", "ext"}, {"STREET", "street"}, {"LOCALITY", "locality"}, {"REGION", "region"}, {"PCODE", "code"}, {"CTRY", "country"}} {
				s := n.child(c[0])
				some = some || s != ""
				always(&parts, c[1], s)
			}
			if !some {
				return false
			}
			params(b, n)
			b.Write(parts.Bytes())
			return true
		})
	}
	for _, n := range byName["JABBERID"] {
		s := strings.TrimSpace(n.Text)
		add("impp", func(b *bytes.Buffer) bool { return s != "" && elem(b, "uri", "xmpp:"+s) })
	}
	text("URL", "url", "uri")
	return v, nil
}

// params writes the home/work type (and, for TEL, the kinds named in
// extra, lower-cased) as RFC 6351 <parameters/>, when the element says any.
func params(b *bytes.Buffer, n *tempNode, extra ...string) {
	var types []string
	for _, t := range append([]string{"HOME", "WORK"}, extra...) {
		if n.has(t) {
			types = append(types, strings.ToLower(t))
		}
	}
	if len(types) == 0 {
		return
	}
	b.WriteString("<parameters><type>")
	for _, t := range types {
		elem(b, "text", t)
	}
	b.WriteString("</type></parameters>")
}

// elem writes <name>s</name> and reports true, for use as add's body.
func elem(b *bytes.Buffer, name, s string) bool {
	always(b, name, s)
	return true
}

// always writes <name>s</name>, or <name/> when s is empty.
func always(b *bytes.Buffer, name, s string) {
	if s == "" {
		b.WriteString("<" + name + "/>")
		return
	}
	b.WriteString("<" + name + ">")
	escapeText(b, s)
	b.WriteString("</" + name + ">")
}

// escapeText writes s as XML text, dropping characters XML 1.0 cannot
// carry (a control byte in a status line must not make the server refuse
// the whole publish).
func escapeText(b *bytes.Buffer, s string) {
	s = strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
			return r
		}
		return -1
	}, s)
	_ = xml.EscapeText(b, []byte(s)) // a bytes.Buffer does not fail
}

// VCard4FromItems reads the <vcard/> out of the answer to VCard4Request.
// ok is false when the answer holds no vCard4 item.
func VCard4FromItems(raw []byte) (v VCard4, ok bool, err error) {
	if len(raw) > maxVCard4Bytes {
		return VCard4{}, false, fmt.Errorf("pep: vcard4 item of %d bytes, more than %d", len(raw), maxVCard4Bytes)
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return VCard4{}, false, nil
		}
		if err != nil {
			return VCard4{}, false, fmt.Errorf("pep: read vcard4 item: %w", err)
		}
		if se, isStart := tok.(xml.StartElement); isStart && se.Name.Space == NSVCard4 && se.Name.Local == "vcard" {
			v, err := readVCard4(raw, d)
			if err != nil {
				return VCard4{}, false, fmt.Errorf("pep: read vcard4 item: %w", err)
			}
			return v, true, nil
		}
	}
}

// readVCard4 collects the children of the <vcard/> whose start tag d has
// just read, each as the bytes it came in. A child is kept only if those
// bytes mean the same element again under our own <vcard xmlns=…> (no
// prefix declared on an ancestor it would lose); the rest are dropped
// rather than republished with a different meaning.
func readVCard4(raw []byte, d *xml.Decoder) (VCard4, error) {
	var v VCard4
	depth := 0
	var at int64
	var name xml.Name
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return VCard4{}, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if depth == 0 {
				at, name = off, t.Name
			}
			depth++
		case xml.EndElement:
			if depth == 0 {
				return v, nil // </vcard>
			}
			depth--
			if depth == 0 {
				child := append([]byte(nil), raw[at:d.InputOffset()]...)
				if sameUnderVCard4(child, name) {
					kind := name.Local
					if name.Space != NSVCard4 {
						kind = name.Space + " " + name.Local // an extension: never one of ours
					}
					v.props = append(v.props, prop{name: kind, raw: child})
				}
			}
		}
	}
}

func sameUnderVCard4(child []byte, want xml.Name) bool {
	doc := append(append([]byte("<vcard xmlns='"+NSVCard4+"'>"), child...), "</vcard>"...)
	d := xml.NewDecoder(bytes.NewReader(doc))
	for depth := 0; ; {
		tok, err := d.Token()
		if err != nil {
			return false
		}
		if se, ok := tok.(xml.StartElement); ok {
			depth++
			if depth == 2 {
				// The rest must parse too.
				if err := d.Skip(); err != nil {
					return false
				}
				return se.Name == want
			}
		}
	}
}

// Keep adds to v the properties of old whose kind v lacks, after v's own.
// A kind v has (from vcard-temp) replaces that kind in old entirely, so
// the status and nickname always come from the new vCard; a kind only a
// vCard4 client set (gender, lang, a second impp…) survives our publish.
func (v VCard4) Keep(old VCard4) VCard4 {
	have := map[string]bool{}
	for _, p := range v.props {
		have[p.name] = true
	}
	out := VCard4{props: append([]prop(nil), v.props...)}
	for _, p := range old.props {
		if !have[p.name] {
			out.props = append(out.props, p)
		}
	}
	return out
}
