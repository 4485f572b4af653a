package publisher

import (
	"encoding/xml"
	"fmt"

	"mmsprofile/component"
	"mmsprofile/vcard"
)

// query returns the payload of a get that asks for everything under ns:
// an empty <local xmlns=ns/>. It is marshalled on each call rather than
// shared, so that no caller can change another's bytes.
func query(ns, local string) []byte {
	b, err := xml.Marshal(struct{ XMLName xml.Name }{xml.Name{Space: ns, Local: local}})
	if err != nil {
		// An xml.Name alone always marshals: this is a bug, not input.
		panic(fmt.Sprintf("publisher: marshal %s query: %v", local, err))
	}
	return b
}

func discoInfoQuery() []byte { return query(component.NSDiscoInfo, "query") }

func vcardTempQuery() []byte { return query(vcard.NSTemp, "vCard") }
