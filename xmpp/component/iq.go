package component

import (
	"context"
	"encoding/xml"
	"fmt"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// IQ sends payload (one XML element) as an ordinary IQ of type typ ("get"
// or "set") from the component itself to to, and returns the payload of
// the answer. No privilege is involved: it reaches only what the server
// lets any entity ask, such as a user's vcard-temp on ejabberd, which is
// how the ejabberd HTTP API backend reads a vCard whole before merging.
// An error answer is an *IQError with Inner false. It waits at most
// Config.OwnIQTimeout: ejabberd 24.x drops such IQs from a privileged
// component when they go to a bare JID (processone/ejabberd#4336), and a
// caller must not stall for the full IQTimeout on each.
func (c *Component) IQ(ctx context.Context, to jid.JID, typ string, payload []byte) ([]byte, error) {
	return c.ownIQ(ctx, to, typ, payload)
}

func (c *Component) ownIQ(ctx context.Context, to jid.JID, typ string, payload []byte) ([]byte, error) {
	c.mu.RLock()
	s := c.session
	c.mu.RUnlock()
	if s == nil {
		return nil, ErrNotConnected
	}
	iq := stanza.IQ{Type: stanza.IQType(typ), To: to, From: c.addr, ID: randomID()}

	ctx, cancel := context.WithTimeout(ctx, c.cfg.OwnIQTimeout)
	defer cancel()
	resp, err := s.SendIQ(ctx, iq.Wrap(tokensOrNil(payload)))
	if err != nil {
		return nil, fmt.Errorf("component: iq to %s: %w", to, err)
	}
	defer resp.Close()
	var answer element
	if err := xml.NewTokenDecoder(resp).Decode(&answer); err != nil {
		return nil, fmt.Errorf("component: read answer from %s: %w", to, err)
	}
	if answer.attr("type") == "error" {
		e := stanzaError(to.String(), false, &answer)
		e.Own = true
		return nil, e
	}
	var out []byte
	for i := range answer.Children {
		if answer.Children[i].XMLName.Local == "error" {
			continue
		}
		out = append(out, answer.Children[i].Raw()...)
	}
	return out, nil
}

// EmptyElement is <local xmlns=ns/>: the payload of a get that asks for
// everything under ns (disco#info, jabber:iq:version, vcard-temp). It is
// marshalled on each call, so no caller can change another's bytes.
func EmptyElement(ns, local string) []byte {
	b, err := xml.Marshal(struct{ XMLName xml.Name }{xml.Name{Space: ns, Local: local}})
	if err != nil {
		// An xml.Name alone always marshals: this is a bug, not input.
		panic(fmt.Sprintf("component: marshal <%s xmlns=%q/>: %v", local, ns, err))
	}
	return b
}
