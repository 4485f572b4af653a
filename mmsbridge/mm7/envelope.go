package mm7

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// node is one element of the SOAP envelope. The envelope is small (a few
// dozen elements), so it is read into a tree first and interpreted by local
// name after: MMSCs put elements in any order and under any prefix.
type node struct {
	name  xml.Name
	attr  []xml.Attr
	text  string
	buf   []byte // text while reading
	kids  []*node
	inner bool // has child elements
}

// child returns the first child with the local name, or nil.
func (n *node) child(local string) *node {
	if n == nil {
		return nil
	}
	for _, k := range n.kids {
		if k.name.Local == local {
			return k
		}
	}
	return nil
}

// childText returns the trimmed text of the first child with the local
// name, or "".
func (n *node) childText(local string) string {
	if c := n.child(local); c != nil {
		return strings.TrimSpace(c.text)
	}
	return ""
}

// attrValue returns the value of the attribute with the local name, in
// any namespace (MMSCs write href, mm7:href, displayOnly…).
func (n *node) attrValue(local string) (string, bool) {
	if n == nil {
		return "", false
	}
	for _, a := range n.attr {
		if a.Name.Local == local {
			return a.Value, true
		}
	}
	return "", false
}

// envelopeLimits bound the XML reader.
// maxAttrs and maxText (attributes on one element, text bytes in one
// element) default to DefaultMaxXMLAttrs and DefaultMaxXMLText.
type envelopeLimits struct {
	maxDepth    int
	maxElements int
	maxAttrs    int
	maxText     int
}

// errXML marks a SOAP part that is not acceptable XML: status 4004.
var errXML = errors.New("bad XML")

// readEnvelope reads the SOAP part into a tree. Directives (DOCTYPE and
// with it every entity declaration) are refused when met, before anything
// is expanded: SOAP 1.1 forbids DTDs in envelopes, and encoding/xml, strict,
// knows only the five predefined entities. Depth and element count are
// bounded so a hostile envelope costs no more than its bytes. The envelope
// prefix is returned as written, for logs and for answering in kind.
func readEnvelope(b []byte, lim envelopeLimits) (*node, string, error) {
	if lim.maxAttrs <= 0 {
		lim.maxAttrs = DefaultMaxXMLAttrs
	}
	if lim.maxText <= 0 {
		lim.maxText = DefaultMaxXMLText
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	d.Strict = true
	d.CharsetReader = xmlCharsetReader
	var (
		root     *node
		stack    []*node
		elements int
	)
	for {
		// RawToken does not check that end tags match, so Token is used;
		// its namespace translation is what local-name matching needs.
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, "", fmt.Errorf("%w: %w", errXML, err)
		}
		switch t := tok.(type) {
		case xml.Directive:
			return nil, "", fmt.Errorf("%w: DOCTYPE or other directive not allowed", errXML)
		case xml.StartElement:
			elements++
			if elements > lim.maxElements {
				return nil, "", fmt.Errorf("%w: more than %d elements: %w", errXML, lim.maxElements, ErrLimit)
			}
			if len(stack) >= lim.maxDepth {
				return nil, "", fmt.Errorf("%w: nested deeper than %d: %w", errXML, lim.maxDepth, ErrLimit)
			}
			if len(t.Attr) > lim.maxAttrs {
				return nil, "", fmt.Errorf("%w: <%.40s> with %d attributes, limit %d: %w", errXML, t.Name.Local, len(t.Attr), lim.maxAttrs, ErrLimit)
			}
			n := &node{name: t.Name, attr: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, "", fmt.Errorf("%w: more than one root element", errXML)
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.kids = append(parent.kids, n)
				parent.inner = true
			}
			stack = append(stack, n)
		case xml.EndElement:
			n := stack[len(stack)-1]
			n.text, n.buf = string(n.buf), nil
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) == 0 {
				if len(bytes.TrimSpace(t)) != 0 {
					return nil, "", fmt.Errorf("%w: text outside the root element", errXML)
				}
				continue
			}
			n := stack[len(stack)-1]
			if len(n.buf)+len(t) > lim.maxText {
				return nil, "", fmt.Errorf("%w: <%.40s> holds more than %d bytes of text: %w", errXML, n.name.Local, lim.maxText, ErrLimit)
			}
			n.buf = append(n.buf, t...)
		}
	}
	if root == nil {
		return nil, "", fmt.Errorf("%w: no root element", errXML)
	}
	return root, rootPrefix(root), nil
}

// rootPrefix is the prefix written on the root element's name, which
// encoding/xml replaces by the namespace URI: the xmlns:… declaration on
// the root that binds that URI ("" for a default namespace).
func rootPrefix(root *node) string {
	for _, a := range root.attr {
		if a.Name.Space == "xmlns" && a.Value == root.name.Space {
			return a.Name.Local
		}
	}
	return ""
}
