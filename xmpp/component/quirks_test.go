package component

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"testing"

	"mellium.im/xmpp/jid"
)

func TestRespell(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"alice@localhost", "alice@Localhost"},
		{"12025550143@example.org", "12025550143@Example.org"},
		{"alice@127.0.0.1", "Alice@127.0.0.1"},
		{"localhost", "Localhost"},
	} {
		j := jid.MustParse(tc.in)
		got, ok := respell(j)
		if !ok || got != tc.want {
			t.Errorf("respell(%s) = %q, %v; want %q", tc.in, got, ok, tc.want)
		}
		// The same JID to anyone who compares them as RFC 7622 says.
		if back, err := jid.Parse(got); err != nil || !back.Equal(j) {
			t.Errorf("respell(%s) = %s, which is not the same JID (%v)", tc.in, got, err)
		}
	}
	if got, ok := respell(jid.MustParse("123@127.0.0.1")); ok {
		t.Errorf("respell of a JID without letters = %q, want none", got)
	}
}

func TestBouncesSelfAddressed(t *testing.T) {
	for _, tc := range []struct {
		s    Server
		want bool
	}{
		{Server{Name: "ejabberd", Version: "24.12"}, true},
		{Server{Name: "ejabberd", Version: "24.10"}, true},
		{Server{Name: "ejabberd", Version: "25.03"}, false},
		{Server{Name: "ejabberd", Version: "26.07"}, false},
		{Server{Name: "ejabberd", Version: "24.12-3+deb13u2"}, true},
		{Server{Name: "Prosody", Version: "13.0.1"}, false},
		{Server{Name: "ejabberd"}, false},
		{Server{Silent: true}, true},
	} {
		if got := tc.s.bouncesSelfAddressed(); got != tc.want {
			t.Errorf("%+v: bouncesSelfAddressed = %v, want %v", tc.s, got, tc.want)
		}
	}
}

// The request ejabberd 24.12 routes back: an IQ get from the user with
// our outer id, the request itself forwarded inside.
const bounced = `<iq xmlns='jabber:component:accept' to='mms.localhost' from='alice@localhost' type='get' id='OUTER'>
  <privilege xmlns='urn:xmpp:privilege:2'><forwarded xmlns='urn:xmpp:forward:0'>
    <iq xmlns='jabber:client' to='alice@localhost' from='alice@localhost' type='get' id='inner'><vCard xmlns='vcard-temp'/></iq>
  </forwarded></privilege></iq>`

func TestNoteBounce(t *testing.T) {
	c, err := New(Config{Domain: "mms.localhost"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancelCause(t.Context())
	c.waiting["OUTER"] = bounce{cancel: cancel}
	var el element
	if err := xml.Unmarshal([]byte(bounced), &el); err != nil {
		t.Fatal(err)
	}
	if !c.noteBounce(&el) {
		t.Fatal("bounce not recognised")
	}
	if !errors.Is(context.Cause(ctx), ErrBounced) {
		t.Fatalf("waiting IQ not ended with ErrBounced: %v", context.Cause(ctx))
	}

	// An ordinary request is not a bounce and ends nothing.
	ctx2, cancel2 := context.WithCancelCause(t.Context())
	c.waiting["OTHER"] = bounce{cancel: cancel2}
	var ping element
	if err := xml.Unmarshal([]byte(`<iq type='get' id='OTHER' from='alice@localhost/x'><ping xmlns='urn:xmpp:ping'/></iq>`), &ping); err != nil {
		t.Fatal(err)
	}
	if c.noteBounce(&ping) || ctx2.Err() != nil {
		t.Fatal("a ping taken for a bounce")
	}
}
