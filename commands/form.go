package commands

import (
	"encoding/xml"
	"fmt"
	"strings"
)

// Namespaces of XEP-0050 and XEP-0004.
const (
	NSCommands = "http://jabber.org/protocol/commands"
	NSData     = "jabber:x:data"
)

// field is one XEP-0004 form field; the tags give its XML.
type field struct {
	Var      string   `xml:"var,attr"`
	Type     string   `xml:"type,attr"`
	Label    string   `xml:"label,attr,omitempty"`
	Desc     string   `xml:"desc,omitempty"`
	Required presence `xml:"required"`
	Options  []option `xml:"option"`
	Values   []string `xml:"value"`
}

// option is one choice of a list field.
type option struct {
	Label string `xml:"label,attr"`
	Value string `xml:"value"`
}

// presence is a flag written as an empty element when set (<required/>)
// and left out when not: encoding/xml would write a bool as text.
type presence bool

// MarshalXML writes <start/> when p is set, nothing otherwise.
func (p presence) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if !p {
		return nil
	}
	return e.EncodeElement(struct{}{}, start)
}

// form is an XEP-0004 data form we send; xml.Marshal writes it.
type form struct {
	XMLName      xml.Name `xml:"jabber:x:data x"`
	Type         string   `xml:"type,attr"` // "form" or "result"
	Title        string   `xml:"title,omitempty"`
	Instructions []string `xml:"instructions"`
	Fields       []field  `xml:"field"`
}

// submitted is a form as a client sends it back.
type submitted struct {
	XMLName xml.Name `xml:"jabber:x:data x"`
	Type    string   `xml:"type,attr"`
	Fields  []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"value"`
	} `xml:"field"`
}

func (s *submitted) value(name string) (string, bool) {
	if s == nil {
		return "", false
	}
	for _, f := range s.Fields {
		if f.Var == name {
			return strings.TrimSpace(strings.Join(f.Values, "\n")), true
		}
	}
	return "", false
}

// boolean reads an XEP-0004 boolean ("1"/"true"), falling back to def
// when the field is absent.
func (s *submitted) boolean(name string, def bool) (bool, error) {
	v, ok := s.value(name)
	if !ok {
		return def, nil
	}
	switch strings.ToLower(v) {
	case "1", "true":
		return true, nil
	case "0", "false", "":
		return false, nil
	}
	return false, fmt.Errorf("field %q: %q is not a boolean", name, v)
}

func boolValue(b bool) string {
	if b {
		return "1"
	}
	return "0"
}
