package component_test

import (
	"bytes"
	"context"
	"encoding/xml"
	"io"
	"log/slog"
	"reflect"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"
)

// What the component writes itself (disco#info, an error IQ with an
// application condition, chat messages) reaches a client through a real
// server with the elements, attributes and text it meant.
func TestAnswersOnProsody(t *testing.T) {
	xs := prosody.StartT(t, prosody.Options{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := xs.Register(ctx, "alice", "pw"); err != nil {
		t.Fatal(err)
	}
	const nsTest = "urn:example:test"
	c, _, _ := connect(t, xs, xs.Secret, func(c *component.Component) {
		c.AddFeature(nsTest)
		c.DiscoNodes(func(node string) (component.NodeInfo, bool) {
			if node != "n'<1>" {
				return component.NodeInfo{}, false
			}
			return component.NodeInfo{Identities: [][3]string{{"automation", "command-node", "Link & go"}}, Features: []string{"f1", "f2"}}, true
		})
		c.HandleIQ(nsTest, "q", func(ctx context.Context, iq component.IQ) ([]byte, error) {
			return nil, component.WithAppCondition(stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest, Text: map[string]string{"": "no <good> & 'bad'"}},
				xml.Name{Space: "urn:example:app", Local: "why"})
		})
		c.HandleChat(func(ctx context.Context, from jid.JID, body string) string { return "re: " + body })
	})
	if _, err := c.WaitPermissions(ctx, xs.Domain); err != nil {
		t.Fatal(err)
	}
	alice := jid.MustParse("alice@" + xs.Domain)
	ac, err := xmppclient.Dial(ctx, xs.C2SAddr, alice, "pw", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer ac.Close()
	comp := jid.MustParse(xs.Component)

	type identity struct {
		Category string `xml:"category,attr"`
		Type     string `xml:"type,attr"`
		Name     string `xml:"name,attr"`
	}
	type info struct {
		XMLName    xml.Name   `xml:"http://jabber.org/protocol/disco#info query"`
		Node       string     `xml:"node,attr"`
		Identities []identity `xml:"identity"`
		Features   []struct {
			Var string `xml:"var,attr"`
		} `xml:"feature"`
	}
	features := func(in info) []string {
		var out []string
		for _, f := range in.Features {
			out = append(out, f.Var)
		}
		return out
	}
	for _, tc := range []struct {
		node     string
		identity identity
		features []string
	}{
		{"", identity{"component", "generic", ""}, []string{component.NSDiscoInfo, nsTest}},
		{"n'<1>", identity{"automation", "command-node", "Link & go"}, []string{"f1", "f2"}},
	} {
		req, err := xml.Marshal(struct {
			XMLName xml.Name `xml:"http://jabber.org/protocol/disco#info query"`
			Node    string   `xml:"node,attr,omitempty"`
		}{Node: tc.node})
		if err != nil {
			t.Fatal(err)
		}
		typ, raw, err := ac.IQ(ctx, comp, "get", req)
		var got info
		if err == nil {
			err = xml.Unmarshal(raw, &got)
		}
		if err != nil || typ != "result" || got.Node != tc.node || len(got.Identities) != 1 || !reflect.DeepEqual(features(got), tc.features) {
			t.Fatalf("disco#info %q: %s %s %v", tc.node, typ, raw, err)
		}
		if id := got.Identities[0]; id.Category != tc.identity.Category || id.Type != tc.identity.Type || tc.node != "" && id.Name != tc.identity.Name {
			t.Fatalf("disco#info %q identity %+v", tc.node, id)
		}
	}

	typ, raw, err := ac.IQ(ctx, comp, "set", []byte(`<q xmlns='urn:example:test' a='1'/>`))
	if err != nil {
		t.Fatal(err)
	}
	var echo struct {
		XMLName xml.Name `xml:"urn:example:test q"`
		A       string   `xml:"a,attr"`
	}
	var se struct {
		Type      string    `xml:"type,attr"`
		Condition *struct{} `xml:"urn:ietf:params:xml:ns:xmpp-stanzas bad-request"`
		Text      string    `xml:"urn:ietf:params:xml:ns:xmpp-stanzas text"`
		App       *struct{} `xml:"urn:example:app why"`
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	if typ != "error" || d.Decode(&echo) != nil || echo.A != "1" || d.Decode(&se) != nil ||
		se.Type != "modify" || se.Condition == nil || se.Text != "no <good> & 'bad'" || se.App == nil {
		t.Fatalf("error answer: %s %s", typ, raw)
	}

	if err := ac.SendChat(ctx, comp, "hi <there> & 'you'"); err != nil {
		t.Fatal(err)
	}
	if m := nextChat(ctx, t, ac); m.Body != "re: hi <there> & 'you'" {
		t.Fatalf("chat answer %+v", m)
	}
	suggest := pep.RosterExchange([]pep.Contact{{JID: "bob@example.org", Name: "Bob & co"}})
	if err := c.SendMessage(ctx, alice, "a <b> & 'c'", suggest); err != nil {
		t.Fatal(err)
	}
	if m := nextChat(ctx, t, ac); m.Body != "a <b> & 'c'" || !reflect.DeepEqual(m.Suggested, []string{"bob@example.org"}) {
		t.Fatalf("message %+v", m)
	}
}

func nextChat(ctx context.Context, t *testing.T, c *xmppclient.Client) xmppclient.Chat {
	t.Helper()
	select {
	case m := <-c.Chats():
		return m
	case <-ctx.Done():
		t.Fatal("no chat message")
		return xmppclient.Chat{}
	}
}
