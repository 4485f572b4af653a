package commands

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"strings"
)

// Namespaces of XEP-0050 and XEP-0004.
const (
	NSCommands = "http://jabber.org/protocol/commands"
	NSData     = "jabber:x:data"
)

// field is one XEP-0004 form field.
type field struct {
	Var, Type, Label, Desc string
	Required               bool
	Values                 []string
	Options                [][2]string // label, value
}

// form is an XEP-0004 data form we send.
type form struct {
	Type         string // "form" or "result"
	Title        string
	Instructions []string
	Fields       []field
}

func (f form) xml() []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<x xmlns='%s' type='%s'>`, NSData, f.Type)
	if f.Title != "" {
		fmt.Fprintf(&b, `<title>%s</title>`, esc(f.Title))
	}
	for _, in := range f.Instructions {
		fmt.Fprintf(&b, `<instructions>%s</instructions>`, esc(in))
	}
	for _, fl := range f.Fields {
		fmt.Fprintf(&b, `<field var='%s' type='%s'`, esc(fl.Var), esc(fl.Type))
		if fl.Label != "" {
			fmt.Fprintf(&b, ` label='%s'`, esc(fl.Label))
		}
		b.WriteByte('>')
		if fl.Desc != "" {
			fmt.Fprintf(&b, `<desc>%s</desc>`, esc(fl.Desc))
		}
		if fl.Required {
			b.WriteString(`<required/>`)
		}
		for _, o := range fl.Options {
			fmt.Fprintf(&b, `<option label='%s'><value>%s</value></option>`, esc(o[0]), esc(o[1]))
		}
		for _, v := range fl.Values {
			fmt.Fprintf(&b, `<value>%s</value>`, esc(v))
		}
		b.WriteString(`</field>`)
	}
	b.WriteString(`</x>`)
	return b.Bytes()
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

func esc(s string) string {
	var b strings.Builder
	xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), "'", "&#39;")
}
