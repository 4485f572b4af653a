package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"sort"

	"mellium.im/xmlstream"
	"mellium.im/xmpp"
	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"
)

// IQ is a request addressed to the component.
type IQ struct {
	From    jid.JID
	To      jid.JID
	Type    string // "get" or "set"
	Payload []byte // the child element, serialised
	Node    string // the payload's node attribute, if any
}

// WithAppCondition returns se carrying app, an application-specific
// condition (RFC 6120 §8.3.3.2, such as XEP-0050's <bad-action/>), which
// stanza.Error has no field for: it is written as an empty element after
// se's condition and text. errors.As finds se in the result.
func WithAppCondition(se stanza.Error, app xml.Name) error {
	return appError{se: se, app: app}
}

// AppCondition returns the application-specific condition err carries, if
// WithAppCondition gave it one.
func AppCondition(err error) (xml.Name, bool) {
	var ae appError
	if errors.As(err, &ae) {
		return ae.app, true
	}
	return xml.Name{}, false
}

type appError struct {
	se  stanza.Error
	app xml.Name
}

func (e appError) Error() string { return e.se.Error() }
func (e appError) Unwrap() error { return e.se }

// errorTokens returns the <error/> a handler's err is answered with: the
// stanza.Error in it, with its application condition, or, for any other
// error, internal-server-error (ok false: the error is ours to log, not
// the requester's to read).
func errorTokens(err error) (_ xml.TokenReader, ok bool) {
	var se stanza.Error
	if !errors.As(err, &se) {
		se = stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError, Text: map[string]string{"": "temporary failure; try again later"}}
		return se.TokenReader(), false
	}
	var app xml.TokenReader
	if name, has := AppCondition(err); has {
		app = xmlstream.Wrap(nil, xml.StartElement{Name: name})
	}
	return se.Wrap(app), true
}

// IQHandler answers an IQ; the returned bytes are the result's payload
// (nil for an empty result). An error holding a stanza.Error (see
// WithAppCondition) is the requester's answer; any other error is logged
// and answered internal-server-error.
type IQHandler func(ctx context.Context, iq IQ) ([]byte, error)

// ChatHandler receives a chat message sent to the component and returns
// the reply, if any.
type ChatHandler func(ctx context.Context, from jid.JID, body string) string

// NodeInfo describes a disco#info node other than the component itself.
type NodeInfo struct {
	Identities [][3]string // category, type, name
	Features   []string
}

type handlers struct {
	iq       map[string]IQHandler // key: ns + " " + local
	chat     ChatHandler
	features []string
	nodes    func(node string) (NodeInfo, bool)
}

// HandleIQ routes IQs whose payload is the element local in namespace ns
// to h. Call before Run.
func (c *Component) HandleIQ(ns, local string, h IQHandler) {
	if c.h.iq == nil {
		c.h.iq = map[string]IQHandler{}
	}
	c.h.iq[ns+" "+local] = h
}

// HandleChat routes chat messages to h. Call before Run.
func (c *Component) HandleChat(h ChatHandler) { c.h.chat = h }

// AddFeature advertises ns in the component's disco#info. Call before Run.
func (c *Component) AddFeature(ns ...string) { c.h.features = append(c.h.features, ns...) }

// DiscoNodes answers disco#info for nodes (e.g. each ad-hoc command).
func (c *Component) DiscoNodes(f func(node string) (NodeInfo, bool)) { c.h.nodes = f }

// SendMessage sends a chat message from the component. extra, if any, is
// appended inside the message (e.g. an XEP-0144 roster item exchange).
func (c *Component) SendMessage(ctx context.Context, to jid.JID, body string, extra ...[]byte) error {
	c.mu.RLock()
	s := c.session
	c.mu.RUnlock()
	if s == nil {
		return ErrNotConnected
	}
	parts := []xml.TokenReader{bodyTokens(body)}
	for _, x := range extra {
		parts = append(parts, tokens(x))
	}
	msg := stanza.Message{To: to, From: c.addr, ID: randomID(), Type: stanza.ChatMessage}
	if err := s.Send(ctx, msg.Wrap(xmlstream.MultiReader(parts...))); err != nil {
		return fmt.Errorf("component: message to %s: %w", to, err)
	}
	return nil
}

// dispatchIQ runs a registered handler off the reading goroutine (it may
// wait on the database) and sends its answer when it is ready.
func (c *Component) dispatchIQ(s *xmpp.Session, el *element, h IQHandler, payload *element) {
	from, _ := jid.Parse(el.attr("from"))
	to, _ := jid.Parse(el.attr("to"))
	iq := IQ{From: from, To: to, Type: el.attr("type"), Payload: payload.Raw(), Node: payload.attr("node")}
	id := el.attr("id")
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.IQTimeout)
		defer cancel()
		result, err := h(ctx, iq)
		reply := stanza.IQ{ID: id, To: from, From: c.addr, Type: stanza.ResultIQ}
		if err != nil {
			answer, ok := errorTokens(err)
			if !ok {
				c.log.Error("iq handler failed", "from", from.String(), "err", err)
			}
			reply.Type = stanza.ErrorIQ
			// The request goes back with the error, as RFC 6120 §8.3.1 allows,
			// so the requester sees which command failed.
			if err := s.Send(ctx, reply.Wrap(xmlstream.MultiReader(payload.TokenReader(), answer))); err != nil {
				c.log.Warn("iq error answer", "to", from.String(), "err", err)
			}
			return
		}
		if err := s.Send(ctx, reply.Wrap(tokensOrNil(result))); err != nil {
			c.log.Warn("iq answer", "to", from.String(), "err", err)
		}
	}()
}

func (c *Component) dispatchChat(s *xmpp.Session, el *element) {
	if c.h.chat == nil {
		return
	}
	typ := el.attr("type")
	if typ == "error" || typ == "groupchat" || typ == "headline" {
		return
	}
	body := el.child("", "body")
	if body == nil {
		return
	}
	from, err := jid.Parse(el.attr("from"))
	if err != nil {
		return
	}
	text := body.Text
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), c.cfg.IQTimeout)
		defer cancel()
		if answer := c.h.chat(ctx, from, text); answer != "" {
			msg := stanza.Message{To: from, From: c.addr, ID: randomID(), Type: stanza.ChatMessage}
			if err := s.Send(ctx, msg.Wrap(bodyTokens(answer))); err != nil {
				c.log.Warn("chat answer", "to", from.String(), "err", err)
			}
		}
	}()
}

// discoInfo answers disco#info for node ("" for the component itself).
func (c *Component) discoInfo(node string) (xml.TokenReader, bool) {
	start := xml.StartElement{Name: xml.Name{Space: NSDiscoInfo, Local: "query"}}
	var parts []xml.TokenReader
	if node != "" {
		start.Attr = []xml.Attr{{Name: xml.Name{Local: "node"}, Value: node}}
		if c.h.nodes == nil {
			return nil, false
		}
		info, ok := c.h.nodes(node)
		if !ok {
			return nil, false
		}
		for _, id := range info.Identities {
			parts = append(parts, identity(id[0], id[1], id[2]))
		}
		for _, f := range info.Features {
			parts = append(parts, feature(f))
		}
		return xmlstream.Wrap(xmlstream.MultiReader(parts...), start), true
	}
	features := append([]string{NSDiscoInfo}, c.h.features...)
	sort.Strings(features)
	parts = append(parts, identity("component", "generic", c.cfg.Name))
	for i, f := range features {
		if i > 0 && features[i-1] == f {
			continue
		}
		parts = append(parts, feature(f))
	}
	return xmlstream.Wrap(xmlstream.MultiReader(parts...), start), true
}

func identity(category, typ, name string) xml.TokenReader {
	return xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "identity"}, Attr: []xml.Attr{
		{Name: xml.Name{Local: "category"}, Value: category},
		{Name: xml.Name{Local: "type"}, Value: typ},
		{Name: xml.Name{Local: "name"}, Value: name},
	}})
}

func feature(ns string) xml.TokenReader {
	return xmlstream.Wrap(nil, xml.StartElement{Name: xml.Name{Local: "feature"}, Attr: []xml.Attr{{Name: xml.Name{Local: "var"}, Value: ns}}})
}

// bodyTokens is a message <body/> holding text.
func bodyTokens(text string) xml.TokenReader {
	return xmlstream.Wrap(xmlstream.Token(xml.CharData(text)), xml.StartElement{Name: xml.Name{Local: "body"}})
}

func tokensOrNil(b []byte) xmlTokenReader {
	if len(b) == 0 {
		return nil
	}
	return tokens(b)
}
