package component

import (
	"bytes"
	"encoding/xml"
	"strings"
)

const nsXML = "http://www.w3.org/XML/1998/namespace"

// Raw serialises the element back to XML. Namespace declarations are
// rewritten from the resolved names (encoding/xml keeps both the resolved
// namespace and the xmlns attribute, and would write it twice).
func (e *element) Raw() []byte {
	var b bytes.Buffer
	e.write(&b, "")
	return b.Bytes()
}

func (e *element) write(b *bytes.Buffer, parentNS string) {
	b.WriteByte('<')
	b.WriteString(e.XMLName.Local)
	if e.XMLName.Space != parentNS {
		b.WriteString(" xmlns='")
		b.WriteString(escapeAttr(e.XMLName.Space))
		b.WriteByte('\'')
	}
	prefixes := 0
	for _, a := range e.Attrs {
		switch {
		case a.Name.Space == "xmlns", a.Name.Space == "" && a.Name.Local == "xmlns":
			continue
		case a.Name.Space == "":
			b.WriteString(" " + a.Name.Local + "='")
		case a.Name.Space == nsXML || a.Name.Space == "xml":
			b.WriteString(" xml:" + a.Name.Local + "='")
		default:
			p := "a" + string(rune('0'+prefixes%10))
			prefixes++
			b.WriteString(" xmlns:" + p + "='" + escapeAttr(a.Name.Space) + "' " + p + ":" + a.Name.Local + "='")
		}
		b.WriteString(escapeAttr(a.Value))
		b.WriteByte('\'')
	}
	text := e.Text
	if len(e.Children) > 0 && strings.TrimSpace(text) == "" {
		text = ""
	}
	if text == "" && len(e.Children) == 0 {
		b.WriteString("/>")
		return
	}
	b.WriteByte('>')
	xml.EscapeText(b, []byte(text))
	for i := range e.Children {
		e.Children[i].write(b, e.XMLName.Space)
	}
	b.WriteString("</" + e.XMLName.Local + ">")
}

func escapeAttr(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}
