package pep

import (
	"encoding/xml"
	"fmt"

	"mmsprofile/vcard"
)

// NodeVCard4 is XEP-0292's PEP node. Its payload, the RFC 6351 xCard
// made from vcard-temp, is package vcard's (vcard.VCard4): this file only
// publishes and reads it.
const NodeVCard4 = "urn:xmpp:vcard4"

// maxVCard4Bytes bounds the vCard4 item read back from a server: it holds
// text fields only (no photo), so a large one is not a vCard we should
// copy into the next publish.
const maxVCard4Bytes = 256 << 10

// VCard4Publish returns the <pubsub/> payload that publishes v as item
// "current" of urn:xmpp:vcard4 (XEP-0292). It carries no publish-options:
// options that differ from an existing node's configuration fail with
// precondition-not-met, and the PEP defaults (contacts may read, one
// item) are what XEP-0292 expects.
func VCard4Publish(v vcard.VCard4) []byte {
	return publish(NodeVCard4, "current", v)
}

type pubsubItems struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/pubsub pubsub"`
	Items   struct {
		Node     string `xml:"node,attr"`
		MaxItems int    `xml:"max_items,attr"`
	} `xml:"items"`
}

// VCard4Request is the <pubsub/> payload of an IQ get that reads the
// current vCard4 item.
func VCard4Request() []byte {
	var q pubsubItems
	q.Items.Node, q.Items.MaxItems = NodeVCard4, 1
	return mustMarshal("vcard4 request", q)
}

// VCard4FromItems reads the <vcard/> out of the answer to VCard4Request.
// ok is false when the answer holds no vCard4 item.
func VCard4FromItems(raw []byte) (v vcard.VCard4, ok bool, err error) {
	if len(raw) > maxVCard4Bytes {
		return vcard.VCard4{}, false, fmt.Errorf("pep: vcard4 item of %d bytes, more than %d", len(raw), maxVCard4Bytes)
	}
	v, ok, err = vcard.FindVCard4(raw)
	if err != nil {
		return vcard.VCard4{}, false, fmt.Errorf("pep: read vcard4 item: %w", err)
	}
	return v, ok, nil
}
