package component

import (
	"encoding/xml"
	"testing"
)

func parse(t *testing.T, raw string) Perms {
	t.Helper()
	var msg element
	if err := xml.Unmarshal([]byte(raw), &msg); err != nil {
		t.Fatal(err)
	}
	for _, ns := range []string{NSPrivilege, NSPrivilege1} {
		if priv := msg.child(ns, "privilege"); priv != nil {
			return parsePrivilege(priv)
		}
	}
	t.Fatal("no privilege element")
	return Perms{}
}

func TestParsePrivilegeWellFormed(t *testing.T) {
	p := parse(t, `<message from='localhost' xmlns='jabber:component:accept'>
	  <privilege xmlns='urn:xmpp:privilege:2'>
	    <perm access='roster' type='get'/>
	    <perm access='message' type='outgoing'/>
	    <perm access='iq'>
	      <namespace ns='http://jabber.org/protocol/pubsub' type='set'/>
	      <namespace ns='vcard-temp' type='both'/>
	    </perm>
	  </privilege></message>`)
	if p.Version != NSPrivilege || p.Roster != "get" || p.Message != "outgoing" {
		t.Fatalf("perms %+v", p)
	}
	if p.AllowsRosterSet() {
		t.Fatal("roster get taken for roster set")
	}
	check := []struct {
		ns, typ string
		want    bool
	}{
		{"http://jabber.org/protocol/pubsub", "set", true},
		{"http://jabber.org/protocol/pubsub", "get", false},
		{"vcard-temp", "get", true},
		{"vcard-temp", "set", true},
		{"jabber:iq:roster", "get", false},
	}
	for _, c := range check {
		if got := p.AllowsIQ(c.ns, c.typ); got != c.want {
			t.Errorf("AllowsIQ(%s, %s) = %v, want %v", c.ns, c.typ, got, c.want)
		}
	}
}

// Debian's mod_privilege leaves every <namespace> open, so each one is a
// child of the one before, in no fixed order.
func TestParsePrivilegeNestedNamespaces(t *testing.T) {
	p := parse(t, `<message from='localhost'><privilege xmlns='urn:xmpp:privilege:2'>
	  <perm access='iq'>
	    <namespace ns='vcard-temp' type='both'>
	      <namespace ns='http://jabber.org/protocol/pubsub' type='set'>
	        <namespace ns='http://jabber.org/protocol/disco#info' type='get'/>
	      </namespace>
	    </namespace>
	  </perm>
	  <perm access='message' type='outgoing'/>
	</privilege></message>`)
	if !p.AllowsIQ("http://jabber.org/protocol/pubsub", "set") || !p.AllowsIQ("vcard-temp", "set") ||
		!p.AllowsIQ("http://jabber.org/protocol/disco#info", "get") || p.AllowsIQ("http://jabber.org/protocol/disco#info", "set") {
		t.Fatalf("perms %s", p)
	}
	if p.Message != "outgoing" {
		t.Fatalf("message perm %q", p.Message)
	}
}

// ejabberd 23.01 speaks v0.2: no IQ permission at all.
func TestParsePrivilegeV1HasNoIQ(t *testing.T) {
	p := parse(t, `<message from='example.org'><privilege xmlns='urn:xmpp:privilege:1'>
	  <perm access='roster' type='both'/><perm access='message' type='outgoing'/><perm access='presence' type='roster'/>
	</privilege></message>`)
	if p.Version != NSPrivilege1 || p.Roster != "both" || p.Presence != "roster" || len(p.IQ) != 0 {
		t.Fatalf("perms %+v", p)
	}
	if p.AllowsIQ("http://jabber.org/protocol/pubsub", "set") {
		t.Fatal("v1 must not allow IQs")
	}
	if !p.AllowsRosterSet() {
		t.Fatal("roster both must allow roster set")
	}
}
