package commands

import (
	"context"
	"encoding/xml"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"mmsprofile/avatar"
	"mmsprofile/profile"
	"mmsprofile/storage/sqlite"
	"mmsprofile/xmpp/component"
)

func newResponder(t *testing.T) *Responder {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc := profile.New(st, avatar.Standard{}, profile.Rules{Domains: []string{"example.org"}, Component: "mms.example.org"}, log)
	return New(svc, "mms.example.org", log)
}

type answer struct {
	Status    string   `xml:"status,attr"`
	SessionID string   `xml:"sessionid,attr"`
	Notes     []string `xml:"note"`
	Fields    []struct {
		Var    string   `xml:"var,attr"`
		Values []string `xml:"value"`
	} `xml:"x>field"`
}

func run(t *testing.T, r *Responder, from, payload string) (answer, error) {
	t.Helper()
	out, err := r.HandleCommand(context.Background(), component.IQ{From: jid.MustParse(from), Type: "set", Payload: []byte(payload)})
	var a answer
	if err == nil {
		if uerr := xml.Unmarshal(out, &a); uerr != nil {
			t.Fatalf("answer %s: %v", out, uerr)
		}
	}
	return a, err
}

func condition(err error) string {
	var se stanza.Error
	if errors.As(err, &se) {
		app, _ := component.AppCondition(err)
		return string(se.Condition) + " " + app.Local
	}
	return ""
}

func TestBadRequests(t *testing.T) {
	r := newResponder(t)
	const alice = "alice@example.org/phone"
	for _, tc := range []struct {
		name, from, payload, want string
	}{
		{"unknown node", alice, `<command xmlns='http://jabber.org/protocol/commands' node='nope'/>`, "item-not-found"},
		{"malformed action", alice, `<command xmlns='http://jabber.org/protocol/commands' node='link' action='jump'/>`, "malformed-action"},
		{"unknown session", alice, `<command xmlns='http://jabber.org/protocol/commands' node='link' sessionid='forged' action='complete'/>`, "bad-sessionid"},
		{"cancel without session", alice, `<command xmlns='http://jabber.org/protocol/commands' node='link' action='cancel'/>`, "bad-sessionid"},
		{"not a command", alice, `<command xmlns='http://jabber.org/protocol/commands' node='link'><x`, "bad-payload"},
	} {
		_, err := run(t, r, tc.from, tc.payload)
		if !strings.Contains(condition(err), tc.want) {
			t.Errorf("%s: error %v, want %s", tc.name, err, tc.want)
		}
	}
}

func TestForeignAccountIsToldWhy(t *testing.T) {
	r := newResponder(t)
	const mallory = "mallory@elsewhere.net/laptop"
	a, err := run(t, r, mallory, `<command xmlns='http://jabber.org/protocol/commands' node='link'/>`)
	if err != nil || a.Status != "executing" {
		t.Fatalf("start: %+v %v", a, err)
	}
	a, err = run(t, r, mallory, `<command xmlns='http://jabber.org/protocol/commands' node='link' sessionid='`+a.SessionID+`' action='complete'><x xmlns='jabber:x:data' type='submit'><field var='number'><value>+12025550199</value></field></x></command>`)
	if err != nil || len(a.Notes) == 0 || !strings.Contains(a.Notes[0], "cannot be linked here") {
		t.Fatalf("foreign account: %+v %v", a, err)
	}
	// Another resource may not continue somebody's session.
	b, err := run(t, r, "alice@example.org/phone", `<command xmlns='http://jabber.org/protocol/commands' node='link'/>`)
	if err != nil {
		t.Fatal(err)
	}
	_, err = run(t, r, "alice@example.org/other", `<command xmlns='http://jabber.org/protocol/commands' node='link' sessionid='`+b.SessionID+`' action='complete'/>`)
	if !strings.Contains(condition(err), "bad-sessionid") {
		t.Fatalf("session taken over from another resource: %v", err)
	}
}

func TestLinkFormMissingAndMalformed(t *testing.T) {
	r := newResponder(t)
	const alice = "alice@example.org/phone"
	a, _ := run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='link'/>`)
	sid := a.SessionID
	// No field at all: the form comes back with a note, session alive.
	a, err := run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='link' sessionid='`+sid+`' action='complete'><x xmlns='jabber:x:data' type='submit'/></command>`)
	if err != nil || a.Status != "executing" || len(a.Notes) == 0 || !strings.Contains(a.Notes[0], "Enter the phone number") {
		t.Fatalf("missing field: %+v %v", a, err)
	}
	a, err = run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='link' sessionid='`+sid+`' action='complete'><x xmlns='jabber:x:data' type='submit'><field var='number'><value>call me maybe</value></field></x></command>`)
	if err != nil || a.Status != "executing" || !strings.Contains(a.Notes[0], "not a phone number") {
		t.Fatalf("malformed number: %+v %v", a, err)
	}
	// Cancel ends it.
	a, err = run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='link' sessionid='`+sid+`' action='cancel'/>`)
	if err != nil || a.Status != "canceled" {
		t.Fatalf("cancel: %+v %v", a, err)
	}
	if _, err := run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='link' sessionid='`+sid+`' action='complete'/>`); !strings.Contains(condition(err), "bad-sessionid") {
		t.Fatalf("cancelled session still open: %v", err)
	}
}

func TestPrefsRoundTrip(t *testing.T) {
	r := newResponder(t)
	const alice = "alice@example.org/phone"
	a, _ := run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='prefs'/>`)
	got := map[string]string{}
	for _, f := range a.Fields {
		got[f.Var] = strings.Join(f.Values, "")
	}
	if got["avatar"] != "1" || got["discoverable"] != "0" || got["roster"] != "0" {
		t.Fatalf("defaults %v", got)
	}
	a, err := run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='prefs' sessionid='`+a.SessionID+`' action='complete'><x xmlns='jabber:x:data' type='submit'><field var='avatar'><value>false</value></field><field var='discoverable'><value>1</value></field><field var='roster'><value>true</value></field></x></command>`)
	if err != nil || a.Status != "completed" {
		t.Fatalf("save: %+v %v", a, err)
	}
	a, _ = run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='prefs'/>`)
	got = map[string]string{}
	for _, f := range a.Fields {
		got[f.Var] = strings.Join(f.Values, "")
	}
	if got["avatar"] != "0" || got["discoverable"] != "1" || got["status"] != "1" || got["roster"] != "1" {
		t.Fatalf("after save %v", got)
	}
	// A value that is not a boolean is refused with the form again.
	a, err = run(t, r, alice, `<command xmlns='http://jabber.org/protocol/commands' node='prefs' sessionid='`+a.SessionID+`' action='complete'><x xmlns='jabber:x:data' type='submit'><field var='avatar'><value>maybe</value></field></x></command>`)
	if err != nil || a.Status != "executing" || !strings.Contains(a.Notes[0], "not a boolean") {
		t.Fatalf("bad boolean: %+v %v", a, err)
	}
}

func TestChat(t *testing.T) {
	r := newResponder(t)
	ctx := context.Background()
	from := jid.MustParse("alice@example.org/phone")
	if got := r.HandleChat(ctx, from, "help"); !strings.Contains(got, "link +12025550143") {
		t.Fatalf("help: %q", got)
	}
	if got := r.HandleChat(ctx, from, "link +1 202 555 0143"); !strings.Contains(got, "LINK ") {
		t.Fatalf("link: %q", got)
	}
	if got := r.HandleChat(ctx, from, "status"); !strings.Contains(got, "Waiting for the code from +1 202-555-0143") {
		t.Fatalf("status: %q", got)
	}
	if got := r.HandleChat(ctx, jid.MustParse("eve@evil.example/x"), "link +12025550143"); !strings.Contains(got, "cannot be linked here") {
		t.Fatalf("foreign: %q", got)
	}
	if got := r.HandleChat(ctx, from, "gibberish"); !strings.Contains(got, "did not understand") {
		t.Fatalf("gibberish: %q", got)
	}
}

func TestDiscoItems(t *testing.T) {
	r := newResponder(t)
	out, err := r.HandleItems(context.Background(), component.IQ{Type: "get", Node: NSCommands})
	if err != nil || strings.Count(string(out), "<item ") != 4 {
		t.Fatalf("items %s %v", out, err)
	}
	if _, ok := r.nodeInfo("link"); !ok {
		t.Fatal("no disco#info for the link node")
	}
}
