package component

import (
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"testing"

	"mellium.im/xmpp/stanza"
)

// The answers the servers send to a privileged vCard get, as captured on
// loopback: the caller must see the inner IQ's outcome whatever the outer
// type says, and a refusal of the privilege itself only when nothing was
// forwarded.
func TestAnswerPayload(t *testing.T) {
	const notFound = `<error type='cancel'><item-not-found xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error>`
	forwarded := func(outer, inner, body string) string {
		return `<iq xmlns='jabber:component:accept' type='` + outer + `' from='alice@localhost' to='mms.localhost' id='1'>` +
			`<privilege xmlns='urn:xmpp:privilege:2'><forwarded xmlns='urn:xmpp:forward:0'>` +
			`<iq xmlns='jabber:client' type='` + inner + `' from='alice@localhost' to='alice@localhost' id='2'>` + body +
			`</iq></forwarded></privilege></iq>`
	}
	for _, tc := range []struct {
		name, answer string
		payload      string // substring of the payload returned
		inner        bool   // an IQError from the inner IQ
		outer        bool   // an IQError from the server itself
		condition    string
	}{
		{name: "prosody 0.12 result over inner result",
			answer:  forwarded("result", "result", `<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>`),
			payload: "<FN>Alice</FN>"},
		{name: "prosody 0.12 result over inner error",
			answer: forwarded("result", "error", notFound), inner: true, condition: "item-not-found"},
		{name: "prosody 13.0.6 outer error copied from the inner one",
			answer: forwarded("error", "error", notFound), inner: true, condition: "item-not-found"},
		{name: "outer error copied over an inner result",
			answer:  forwarded("error", "result", `<vCard xmlns='vcard-temp'><FN>Alice</FN></vCard>`),
			payload: "<FN>Alice</FN>"},
		{name: "privilege refused by the server",
			answer: `<iq xmlns='jabber:component:accept' type='error' from='alice@localhost' id='1'>` +
				`<error type='auth'><forbidden xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></iq>`,
			outer: true, condition: "forbidden"},
		{name: "empty result", answer: `<iq xmlns='jabber:component:accept' type='result' id='1'/>`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var answer element
			if err := xml.NewDecoder(strings.NewReader(tc.answer)).Decode(&answer); err != nil {
				t.Fatal(err)
			}
			out, err := answerPayload("alice@localhost", &answer)
			var iqErr *IQError
			switch {
			case tc.inner || tc.outer:
				if !errors.As(err, &iqErr) {
					t.Fatalf("err = %v, want an IQError", err)
				}
				if iqErr.Inner != tc.inner || string(iqErr.Stanza.Condition) != tc.condition {
					t.Fatalf("IQError inner=%v condition=%q, want inner=%v condition=%q", iqErr.Inner, iqErr.Stanza.Condition, tc.inner, tc.condition)
				}
			case err != nil:
				t.Fatalf("err = %v, want none", err)
			case !strings.Contains(string(out), tc.payload):
				t.Fatalf("payload %q lacks %q", out, tc.payload)
			}
		})
	}
}

// The server's error reads as mellium's stanza.Error through an IQError
// and any wrapping, so callers need no type of ours to ask for a condition.
func TestIQErrorIsStanzaError(t *testing.T) {
	err := fmt.Errorf("publisher: read vcard: %w", &IQError{Owner: "alice@localhost", Inner: true,
		Stanza: stanza.Error{Type: stanza.Cancel, Condition: stanza.ItemNotFound, Text: map[string]string{"": "no vCard"}}})
	if !errors.Is(err, stanza.Error{Condition: stanza.ItemNotFound}) {
		t.Errorf("errors.Is(%v, item-not-found) = false", err)
	}
	if errors.Is(err, stanza.Error{Condition: stanza.Forbidden}) {
		t.Errorf("errors.Is(%v, forbidden) = true", err)
	}
	var se stanza.Error
	if !errors.As(err, &se) || se.Type != stanza.Cancel {
		t.Errorf("errors.As: %+v", se)
	}
	if want := "component: wrapped iq for alice@localhost: cancel/item-not-found: no vCard"; err.Error() != "publisher: read vcard: "+want {
		t.Errorf("Error() = %q", err.Error())
	}
}
