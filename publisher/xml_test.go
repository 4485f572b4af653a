package publisher

import (
	"encoding/xml"
	"strings"
)

// pepNode returns the node a <pubsub/> payload publishes to or reads, ""
// when it names none. The fake server reads payloads as XML, so a test
// does not depend on how pep spells them (quotes, empty elements).
func pepNode(payload string) string {
	d := xml.NewDecoder(strings.NewReader(payload))
	for {
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && (se.Name.Local == "publish" || se.Name.Local == "items") {
			for _, a := range se.Attr {
				if a.Name.Local == "node" {
					return a.Value
				}
			}
		}
	}
}

// element returns the first element of payload in namespace ns named
// local, as the bytes it came in, or "" when there is none.
func element(payload, ns, local string) string {
	d := xml.NewDecoder(strings.NewReader(payload))
	for {
		at := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return ""
		}
		if se, ok := tok.(xml.StartElement); ok && se.Name.Space == ns && se.Name.Local == local {
			if d.Skip() != nil {
				return ""
			}
			return payload[at:d.InputOffset()]
		}
	}
}
