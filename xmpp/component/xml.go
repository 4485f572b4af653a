package component

import (
	"bytes"
	"encoding/xml"
	"strings"

	"mellium.im/xmlstream"
)

const nsXML = "http://www.w3.org/XML/1998/namespace"

// Raw serialises the element back to XML through an xml.Encoder.
func (e *element) Raw() []byte {
	var b bytes.Buffer
	enc := xml.NewEncoder(&b)
	// Neither call can fail: every name came through the decoder, so none
	// is empty and each end matches its start, and b takes every write.
	_, _ = xmlstream.Copy(enc, e.TokenReader())
	_ = enc.Flush()
	return b.Bytes()
}

// TokenReader returns the element as tokens. encoding/xml keeps both the
// resolved namespace and the xmlns attribute it came from, and its encoder
// would write both: so each name goes out without its namespace, which is
// declared as an xmlns attribute where it differs from the parent's, and
// the decoded namespace declarations are dropped (the encoder declares the
// prefixes of namespaced attributes itself).
func (e *element) TokenReader() xml.TokenReader { return e.tokens("") }

func (e *element) tokens(parentNS string) xml.TokenReader {
	start := xml.StartElement{Name: xml.Name{Local: e.XMLName.Local}}
	if e.XMLName.Space != parentNS {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: e.XMLName.Space})
	}
	for _, a := range e.Attrs {
		switch {
		case a.Name.Space == "xmlns", a.Name.Space == "" && a.Name.Local == "xmlns":
			continue
		case a.Name.Space == "xml":
			a.Name.Space = nsXML
		}
		start.Attr = append(start.Attr, a)
	}
	var inner []xml.TokenReader
	text := e.Text
	if len(e.Children) > 0 && strings.TrimSpace(text) == "" {
		text = ""
	}
	if text != "" {
		inner = append(inner, xmlstream.Token(xml.CharData(text)))
	}
	for i := range e.Children {
		inner = append(inner, e.Children[i].tokens(e.XMLName.Space))
	}
	return xmlstream.Wrap(xmlstream.MultiReader(inner...), start)
}
