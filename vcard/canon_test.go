package vcard

import (
	"bytes"
	"encoding/xml"
	"io"
	"slices"
	"sort"
	"strings"
	"testing"
)

// children returns each child of raw's root in a canonical form: names
// with their namespace resolved, attributes sorted, xmlns declarations and
// quote style gone, <a/> the same as <a></a>. Tests compare what the XML
// says, not how it is spelled.
func children(t *testing.T, raw string) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(raw))
	var out []string
	var b strings.Builder
	depth := 0
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%v in %s", err, raw)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			depth++
			if depth == 1 {
				continue
			}
			var attrs []string
			for _, a := range tok.Attr {
				if a.Name.Space == "xmlns" || a.Name.Space == "" && a.Name.Local == "xmlns" {
					continue
				}
				var v bytes.Buffer
				xml.EscapeText(&v, []byte(a.Value))
				attrs = append(attrs, " {"+a.Name.Space+"}"+a.Name.Local+"="+v.String())
			}
			sort.Strings(attrs)
			b.WriteString("<{" + tok.Name.Space + "}" + tok.Name.Local + strings.Join(attrs, "") + ">")
		case xml.EndElement:
			depth--
			if depth == 0 {
				continue
			}
			b.WriteString("</>")
			if depth == 1 {
				out = append(out, b.String())
				b.Reset()
			}
		case xml.CharData:
			if depth > 1 {
				xml.EscapeText(&b, tok)
			}
		}
	}
	return out
}

// hasChild reports whether the root of raw has a child that says what
// want says, want being read under a root in namespace ns.
func hasChild(t *testing.T, raw []byte, ns, want string) bool {
	t.Helper()
	w := children(t, "<root xmlns='"+ns+"'>"+want+"</root>")
	if len(w) != 1 {
		t.Fatalf("want %s is %d elements", want, len(w))
	}
	return slices.Contains(children(t, string(raw)), w[0])
}
