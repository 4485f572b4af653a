package publisher

import (
	"errors"
	"strings"
	"testing"

	"mmsprofile/outbox"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"

	"mellium.im/xmpp/stanza"
)

// Contacts marked for the roster: added where the host grants roster set
// (and the message says so, with no suggestion), suggested where it does
// not, or where the roster set fails; then suggested on that host without
// trying again. Unmarked contacts are suggested even where it is granted.
func TestRosterAddOrSuggestion(t *testing.T) {
	granted := defaultPerms()
	granted.Roster = "both"
	getOnly := defaultPerms()
	getOnly.Roster = "get"
	contacts := []outbox.Contact{{JID: "bob@example.org", Name: "Bob"}}
	for _, tc := range []struct {
		name    string
		perms   component.Perms
		fail    error
		marked  bool
		added   bool
		roster  int // roster sets tried, over two messages
		message string
	}{
		{name: "granted", perms: granted, marked: true, added: true, roster: 2, message: "added"},
		{name: "not marked", perms: granted, roster: 0, message: "suggested"},
		{name: "only get granted", perms: getOnly, marked: true, roster: 0, message: "suggested"},
		{name: "refused", perms: granted, fail: &component.IQError{Stanza: stanza.Error{Type: "auth", Condition: "forbidden"}}, marked: true, roster: 1, message: "suggested"},
		{name: "dropped", perms: granted, fail: errors.New("component: iq to alice@example.org: context deadline exceeded"), marked: true, roster: 1, message: "suggested"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := &fakeServer{perms: tc.perms, rosterFail: tc.fail}
			p, st := setup(t, w, nil)
			for range 2 {
				e := outbox.SuggestEntry("alice@example.org", "suggested", contacts)
				if tc.marked {
					e = outbox.RosterEntry("alice@example.org", "added", "suggested", contacts)
				}
				if err := st.Enqueue(t.Context(), e); err != nil {
					t.Fatal(err)
				}
				if _, err := p.Drain(t.Context()); err != nil {
					t.Fatal(err)
				}
			}
			if len(w.roster) != tc.roster {
				t.Errorf("roster sets %q, want %d", w.roster, tc.roster)
			}
			if tc.added && (len(w.roster) == 0 || w.roster[0] != "alice@example.org: bob@example.org Bob") {
				t.Errorf("roster sets %q", w.roster)
			}
			exchange := string(pep.RosterExchange(rosterContacts(contacts)))
			for i, m := range w.messages {
				if m == exchange {
					if tc.added {
						t.Errorf("suggestion sent although added: %q", w.messages)
					}
					continue
				}
				if m != "alice@example.org: "+tc.message {
					t.Errorf("message %d %q, want %q", i, m, tc.message)
				}
			}
			if !tc.added && strings.Count(strings.Join(w.messages, "\n"), exchange) != 2 {
				t.Errorf("messages %q, want two suggestions", w.messages)
			}
			if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 {
				t.Errorf("%d items left", n.Pending)
			}
			if _, failed := p.RosterFailures()["example.org"]; failed != (tc.fail != nil) {
				t.Errorf("RosterFailures %v", p.RosterFailures())
			}
		})
	}
}
