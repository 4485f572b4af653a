package pep

import (
	"encoding/xml"
	"fmt"
)

// pubsubPublish is <pubsub><publish node=…><item id=…>payload</item>
// </publish></pubsub>, the shape of every payload this package writes.
type pubsubPublish struct {
	XMLName xml.Name `xml:"http://jabber.org/protocol/pubsub pubsub"`
	Publish struct {
		Node string `xml:"node,attr"`
		Item struct {
			ID string `xml:"id,attr"`
			// Payload names its own element with an XMLName field.
			Payload any
		} `xml:"item"`
	} `xml:"publish"`
}

// publish marshals payload as item id of node.
func publish(node, id string, payload any) []byte {
	var p pubsubPublish
	p.Publish.Node = node
	p.Publish.Item.ID = id
	p.Publish.Item.Payload = payload
	return mustMarshal(node+" item", p)
}

// mustMarshal marshals v, one of this package's element types. Those hold
// only strings and ints, which encoding/xml always encodes, so an error is
// a bug in the type, not a property of the input: a panic, as
// outbox.MessageEntry does, rather than an error every caller must carry.
func mustMarshal(what string, v any) []byte {
	b, err := xml.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("pep: marshal %s: %v", what, err))
	}
	return b
}
