package mm7

import (
	"bytes"
	"encoding/xml"
)

// soapWriter writes a SOAP document with an xml.Encoder, indented as the
// shapes MMSCs are tested against. encoding/xml declares only default
// namespaces, and an envelope needs its env: prefix (faultcode's text,
// env:Client, refers to it, and faultcode must stay in no namespace), so
// prefixed names and their xmlns:… declarations go in as literal names;
// escaping is the encoder's.
type soapWriter struct {
	buf bytes.Buffer
	enc *xml.Encoder
	err error
}

func newSOAPWriter() *soapWriter {
	w := &soapWriter{}
	w.buf.WriteString(xml.Header)
	w.enc = xml.NewEncoder(&w.buf)
	w.enc.Indent("", "  ")
	return w
}

// start opens name with attrs, given as name, value pairs.
func (w *soapWriter) start(name string, attrs ...string) {
	se := xml.StartElement{Name: xml.Name{Local: name}}
	for i := 0; i+1 < len(attrs); i += 2 {
		se.Attr = append(se.Attr, xml.Attr{Name: xml.Name{Local: attrs[i]}, Value: attrs[i+1]})
	}
	w.token(se)
}

func (w *soapWriter) end(name string) { w.token(xml.EndElement{Name: xml.Name{Local: name}}) }

// text writes <name attrs…>value</name>.
func (w *soapWriter) text(name, value string, attrs ...string) {
	w.start(name, attrs...)
	w.token(xml.CharData(value))
	w.end(name)
}

func (w *soapWriter) token(t xml.Token) {
	if w.err == nil {
		w.err = w.enc.EncodeToken(t)
	}
}

// bytes returns the document, ended by a newline, or the first error.
func (w *soapWriter) bytes() ([]byte, error) {
	if w.err == nil {
		w.err = w.enc.Flush()
	}
	if w.err != nil {
		return nil, w.err
	}
	w.buf.WriteByte('\n')
	return w.buf.Bytes(), nil
}
