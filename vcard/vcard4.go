package vcard

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"strings"
)

// NSVCard4 is the RFC 6351 xCard namespace, the payload of XEP-0292's
// vCard4 over XMPP.
const NSVCard4 = "urn:ietf:params:xml:ns:vcard-4.0"

// VCard4 is an xCard <vcard/>: its properties in order, each kept as the
// XML bytes it is written as.
type VCard4 struct {
	props []prop
}

type prop struct {
	name string // local name, e.g. "note"
	raw  []byte // the whole element, in NSVCard4 as the default namespace
}

// Empty reports whether v has no property.
func (v VCard4) Empty() bool { return len(v.props) == 0 }

// vcard4Elem is the <vcard/> as written.
type vcard4Elem struct {
	XMLName xml.Name `xml:"urn:ietf:params:xml:ns:vcard-4.0 vcard"`
	// Props are written as they were kept: a property read from a server
	// goes out byte for byte, so an extension we do not know survives.
	Props []byte `xml:",innerxml"`
}

func (v VCard4) elem() vcard4Elem {
	var e vcard4Elem
	for _, p := range v.props {
		e.Props = append(e.Props, p.raw...)
	}
	return e
}

// MarshalXML writes v as its <vcard/>, whatever element name the caller
// gave it: a PubSub item holds it as it is.
func (v VCard4) MarshalXML(e *xml.Encoder, _ xml.StartElement) error {
	return e.Encode(v.elem())
}

// Marshal returns the <vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'/>.
func (v VCard4) Marshal() []byte {
	return mustMarshal("vcard4", v.elem())
}

// mustMarshal marshals v, one of this file's element types. Those hold
// only strings and kept bytes, which encoding/xml always encodes, so an
// error is a bug in the type, not a property of the input.
func mustMarshal(what string, v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("vcard: marshal %s: %v", what, err))
	}
	return b
}

// tempNode is a vcard-temp element, read by local name: a child taken
// out of its document may use a prefix declared on the root.
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

// VCard4 builds the vCard4 that says what t says, so that clients reading
// either see the same profile: FN, N, NICKNAME, BDAY, DESC and NOTE (both
// as note, DESC — the status line — first), TITLE, ROLE, ORG, EMAIL, TEL,
// ADR, JABBERID (impp) and URL, mapped as Prosody's mod_vcard_legacy maps
// them so both paths give clients the same shapes. PHOTO is left out on
// purpose: the avatar is XEP-0084, and a copy inlined here would double
// every vCard4 event. Fields vCard4 has no place for (X-… extensions) stay
// in vcard-temp only.
func (t *Temp) VCard4() (VCard4, error) {
	byName := map[string][]*tempNode{}
	for _, n := range t.nodes {
		if n.owned == "" {
			continue
		}
		c := &tempNode{}
		if err := xml.Unmarshal(n.raw, c); err != nil {
			return VCard4{}, fmt.Errorf("vcard: vcard4 from vcard-temp %s: %w", n.owned, err)
		}
		byName[n.owned] = append(byName[n.owned], c)
	}
	var v VCard4
	// add keeps the property name with children, unless there are none.
	add := func(name string, children []xNode) {
		if len(children) == 0 {
			return
		}
		raw := mustMarshal("vcard4 "+name, xNode{XMLName: xml.Name{Local: name}, Children: children})
		v.props = append(v.props, prop{name: name, raw: raw})
	}
	// text adds one property per element of kind from, as <to><typ>…</typ></to>.
	text := func(from, to, typ string) {
		for _, n := range byName[from] {
			if s := strings.TrimSpace(n.Text); s != "" {
				add(to, []xNode{leaf(typ, s)})
			}
		}
	}
	text("FN", "fn", "text")
	for _, n := range byName["N"] {
		// RFC 6351 requires all five components, empty ones included.
		var parts []xNode
		some := false
		for _, c := range [][2]string{{"FAMILY", "surname"}, {"GIVEN", "given"}, {"MIDDLE", "additional"}, {"PREFIX", "prefix"}, {"SUFFIX", "suffix"}} {
			s := n.child(c[0])
			some = some || s != ""
			parts = append(parts, leaf(c[1], s))
		}
		if some {
			add("n", parts)
		}
	}
	text("NICKNAME", "nickname", "text")
	for _, n := range byName["BDAY"] {
		s := strings.TrimSpace(n.Text)
		typ := "date"
		if strings.Trim(s, "0123456789-") != "" {
			typ = "text" // "circa 1800" and the like: RFC 6350 allows text
		}
		if s != "" {
			add("bday", []xNode{leaf(typ, s)})
		}
	}
	text("DESC", "note", "text")
	text("NOTE", "note", "text")
	text("TITLE", "title", "text")
	text("ROLE", "role", "text")
	for _, n := range byName["ORG"] {
		name := n.child("ORGNAME")
		var units []xNode
		for _, c := range n.Children {
			if c.XMLName.Local == "ORGUNIT" && strings.TrimSpace(c.Text) != "" {
				units = append(units, leaf("text", strings.TrimSpace(c.Text)))
			}
		}
		if name != "" || len(units) > 0 {
			add("org", append([]xNode{leaf("text", name)}, units...))
		}
	}
	for _, n := range byName["EMAIL"] {
		if s := n.child("USERID"); s != "" {
			add("email", append(params(n), leaf("text", s)))
		}
	}
	for _, n := range byName["TEL"] {
		if s := n.child("NUMBER"); s != "" {
			// A tel: URI has no spaces; RFC 3966 takes "-" as the visual
			// separator.
			add("tel", append(params(n, "VOICE", "FAX", "CELL", "VIDEO", "PAGER", "TEXT"),
				leaf("uri", "tel:"+strings.Join(strings.Fields(s), "-"))))
		}
	}
	for _, n := range byName["ADR"] {
		var parts []xNode
		some := false
		for _, c := range [][2]string{{"POBOX", "pobox"}, {"EXTADD", "ext"}, {"STREET", "street"}, {"LOCALITY", "locality"}, {"REGION", "region"}, {"PCODE", "code"}, {"CTRY", "country"}} {
			s := n.child(c[0])
			some = some || s != ""
			parts = append(parts, leaf(c[1], s))
		}
		if some {
			add("adr", append(params(n), parts...))
		}
	}
	for _, n := range byName["JABBERID"] {
		if s := strings.TrimSpace(n.Text); s != "" {
			add("impp", []xNode{leaf("uri", "xmpp:"+s)})
		}
	}
	text("URL", "url", "uri")
	return v, nil
}

// xNode is an xCard element as written: text or children, in no namespace
// of its own so that it reads as NSVCard4 under the <vcard/> it goes in.
type xNode struct {
	XMLName xml.Name
	Text    string `xml:",chardata"`
	// Children name themselves with XMLName.
	Children []xNode
}

func leaf(name, s string) xNode {
	return xNode{XMLName: xml.Name{Local: name}, Text: XMLChars(s)}
}

// XMLChars drops the characters XML 1.0 cannot carry: encoding/xml would
// write them as U+FFFD, and a control byte must leave no trace in what
// contacts see. Every payload built from an MMS's text goes through it.
func XMLChars(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' || r >= 0x20 && r <= 0xD7FF || r >= 0xE000 && r <= 0xFFFD || r >= 0x10000 && r <= 0x10FFFF {
			return r
		}
		return -1
	}, s)
}

// params returns the home/work type (and, for TEL, the kinds named in
// extra, lower-cased) as RFC 6351 <parameters/>, when the element says any.
func params(n *tempNode, extra ...string) []xNode {
	var types []xNode
	for _, t := range append([]string{"HOME", "WORK"}, extra...) {
		if n.has(t) {
			types = append(types, leaf("text", strings.ToLower(t)))
		}
	}
	if len(types) == 0 {
		return nil
	}
	typ := xNode{XMLName: xml.Name{Local: "type"}, Children: types}
	return []xNode{{XMLName: xml.Name{Local: "parameters"}, Children: []xNode{typ}}}
}

// FindVCard4 reads the first <vcard/> in NSVCard4 anywhere in raw (the
// whole answer to a PubSub items request will do). ok is false when raw
// holds none.
func FindVCard4(raw []byte) (v VCard4, ok bool, err error) {
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return VCard4{}, false, nil
		}
		if err != nil {
			return VCard4{}, false, fmt.Errorf("vcard: read vcard4: %w", err)
		}
		if se, isStart := tok.(xml.StartElement); isStart && se.Name.Space == NSVCard4 && se.Name.Local == "vcard" {
			v, err := readVCard4(raw, d)
			if err != nil {
				return VCard4{}, false, fmt.Errorf("vcard: read vcard4: %w", err)
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

// sameUnderVCard4 reports whether child, written as it is under our own
// <vcard/>, is still the element want.
func sameUnderVCard4(child []byte, want xml.Name) bool {
	doc, err := xml.Marshal(vcard4Elem{Props: child})
	if err != nil {
		return false
	}
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
