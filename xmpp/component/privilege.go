package component

import (
	"encoding/xml"
	"sort"
	"strings"
)

// XEP-0356 namespaces: v0.4+ (with IQ permission) and the older v0.2.
const (
	NSPrivilege  = "urn:xmpp:privilege:2"
	NSPrivilege1 = "urn:xmpp:privilege:1"
	NSForward    = "urn:xmpp:forward:0"
	NSDiscoInfo  = "http://jabber.org/protocol/disco#info"
	NSDiscoItems = "http://jabber.org/protocol/disco#items"
)

// Perms is what one host allows the component to do for its users.
type Perms struct {
	// Version is the privilege namespace the host spoke.
	Version string
	// Roster, Message and Presence hold the access levels advertised for
	// those kinds ("get", "set", "both", "outgoing", "managed_entity", …).
	Roster, Message, Presence string
	// IQ maps a payload namespace to "get", "set" or "both".
	IQ map[string]string
}

// AllowsIQ reports whether an IQ of type typ ("get" or "set") with a payload
// in namespace ns may be sent for this host's users.
func (p Perms) AllowsIQ(ns, typ string) bool {
	switch p.IQ[ns] {
	case "both":
		return true
	case typ:
		return true
	}
	return false
}

// String lists the permissions in a stable order, for logs and doctor.
func (p Perms) String() string {
	var b strings.Builder
	b.WriteString("roster=" + orNone(p.Roster) + " message=" + orNone(p.Message) + " presence=" + orNone(p.Presence))
	ns := make([]string, 0, len(p.IQ))
	for k := range p.IQ {
		ns = append(ns, k)
	}
	sort.Strings(ns)
	for _, k := range ns {
		b.WriteString(" iq[" + k + "]=" + p.IQ[k])
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

// element is a generic XML tree, enough to read whatever a server sends.
type element struct {
	XMLName  xml.Name
	Attrs    []xml.Attr `xml:",any,attr"`
	Children []element  `xml:",any"`
	Text     string     `xml:",chardata"`
}

func (e *element) attr(local string) string {
	for _, a := range e.Attrs {
		if a.Name.Local == local {
			return a.Value
		}
	}
	return ""
}

func (e *element) child(space, local string) *element {
	for i := range e.Children {
		c := &e.Children[i]
		if c.XMLName.Local == local && (space == "" || c.XMLName.Space == space) {
			return c
		}
	}
	return nil
}

// parsePrivilege reads a <privilege/> element. Debian's Prosody module
// forgets to close each <namespace>, so they arrive nested inside each
// other (and inside <perm>): walk the whole subtree rather than trusting
// the structure.
func parsePrivilege(priv *element) Perms {
	p := Perms{Version: priv.XMLName.Space, IQ: map[string]string{}}
	var walkPerm func(e *element, access string)
	walkPerm = func(e *element, access string) {
		for i := range e.Children {
			c := &e.Children[i]
			switch c.XMLName.Local {
			case "namespace":
				if access == "iq" {
					if ns := c.attr("ns"); ns != "" {
						p.IQ[ns] = mergeAccess(p.IQ[ns], c.attr("type"))
					}
				}
				walkPerm(c, access)
			case "perm":
				walkPerm(c, c.attr("access"))
			}
		}
	}
	for i := range priv.Children {
		c := &priv.Children[i]
		if c.XMLName.Local != "perm" {
			continue
		}
		access := c.attr("access")
		switch access {
		case "roster":
			p.Roster = c.attr("type")
		case "message":
			p.Message = c.attr("type")
		case "presence":
			p.Presence = c.attr("type")
		}
		walkPerm(c, access)
	}
	return p
}

func mergeAccess(a, b string) string {
	switch {
	case a == "":
		return b
	case b == "" || a == b:
		return a
	default:
		return "both"
	}
}
