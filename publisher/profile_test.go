package publisher

import (
	"encoding/xml"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/vcard"
	"mmsprofile/xmpp/component"
)

// commitProfile commits one profile item for alice, as an MMS would.
func commitProfile(t *testing.T, st storage.Store, key string, prof outbox.Change) {
	t.Helper()
	if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: key, JID: "alice@example.org", Number: "+12025550143",
		Received: time.Now(), Entries: []storage.Entry{outbox.ChangeEntry("alice@example.org", prof)}}); err != nil {
		t.Fatal(err)
	}
}

func drainAll(t *testing.T, p *Publisher, st storage.Store) {
	t.Helper()
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 {
		failed, _ := st.FailedOutbox(t.Context(), 10)
		t.Fatalf("%d items left, failed %+v", n.Pending, failed)
	}
	if failed, _ := st.FailedOutbox(t.Context(), 10); len(failed) != 0 {
		t.Fatalf("failed %+v", failed)
	}
}

// sets lists the nodes (or vCard) of the set IQs, in order.
func sets(w *fakeServer) []string {
	var out []string
	for _, iq := range w.iqs {
		switch {
		case strings.HasPrefix(iq, "set <vCard"):
			out = append(out, "vcard-temp")
		case strings.HasPrefix(iq, "set <pubsub"):
			out = append(out, pepNode(iq))
		}
	}
	return out
}

type xcard struct {
	FN       string   `xml:"fn>text"`
	Nickname string   `xml:"nickname>text"`
	Notes    []string `xml:"note>text"`
	Title    string   `xml:"title>text"`
	Org      []string `xml:"org>text"`
	Tels     []string `xml:"tel>uri"`
	Gender   string   `xml:"gender>sex"`
}

func parseXCard(t *testing.T, raw string) xcard {
	t.Helper()
	var c xcard
	if err := xml.Unmarshal([]byte(raw), &c); err != nil {
		t.Fatalf("%v in %s", err, raw)
	}
	return c
}

// On a server that keeps vcard-temp and PEP apart, the merged vcard-temp
// also goes out as vCard4: the client's fields and ours, the status as
// the note. No mood unless asked for.
func TestProfileVCard4WhenServerDoesNotConvert(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'><FN>Alice Example</FN><TEL><HOME/><NUMBER>+1 202 555 0100</NUMBER></TEL><X-CUSTOM>x</X-CUSTOM></vCard>`}
	p, st := setup(t, w, nil)
	status, nick, title := "At the beach", "Ally", "Engineer"
	commitProfile(t, st, "k", outbox.Change{Status: &status, Nick: &nick, VCard: &vcard.Fields{Title: &title, Org: &vcard.Org{Name: "Example Corp"}}})
	drainAll(t, p, st)

	if got, want := sets(w), []string{"http://jabber.org/protocol/nick", "vcard-temp", "urn:xmpp:vcard4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sets %v, want %v", got, want)
	}
	got := parseXCard(t, w.vcard4)
	want := xcard{FN: "Alice Example", Nickname: "Ally", Notes: []string{"At the beach"}, Title: "Engineer", Org: []string{"Example Corp"}, Tels: []string{"tel:+1-202-555-0100"}}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("vcard4 %+v, want %+v\n%s", got, want, w.vcard4)
	}
	for _, iq := range w.iqs {
		if strings.Contains(iq, "publish-options") {
			t.Errorf("publish-options sent: %s", iq)
		}
		if strings.HasPrefix(iq, "get <pubsub") {
			t.Errorf("pubsub get sent without the grant: %s", iq)
		}
	}
}

// A server that converts (mod_vcard_legacy) makes its own vCard4 from the
// vcard-temp set: we must not publish a second one.
func TestProfileNoVCard4WhenServerConverts(t *testing.T) {
	w := &fakeServer{converts: true}
	p, st := setup(t, w, nil)
	status := "At the beach"
	commitProfile(t, st, "k", outbox.Change{Status: &status})
	drainAll(t, p, st)
	if got, want := sets(w), []string{"vcard-temp"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sets %v, want %v", got, want)
	}
	if !strings.Contains(w.vcard, "<DESC>At the beach</DESC>") {
		t.Fatalf("vcard-temp %s", w.vcard)
	}
}

// ejabberd's mod_avatar advertises vCard conversion too, but converts only
// the avatar: the vCard4 is still ours to publish.
func TestProfileVCard4OnConvertingEjabberd(t *testing.T) {
	w := &fakeServer{converts: true, ejabberd: true}
	p, st := setup(t, w, nil)
	status := "At the beach"
	commitProfile(t, st, "k", outbox.Change{Status: &status})
	drainAll(t, p, st)
	if got, want := sets(w), []string{"vcard-temp", "urn:xmpp:vcard4"}; !reflect.DeepEqual(got, want) {
		t.Fatalf("sets %v, want %v", got, want)
	}
	if !strings.Contains(w.vcard4, "At the beach") {
		t.Fatalf("vcard4 %s", w.vcard4)
	}
}

// The operator says so in the config, without asking the server.
func TestProfileVCard4FollowsConfiguredConversion(t *testing.T) {
	for _, tc := range []struct {
		mode   string
		vcard4 bool
	}{{"on", false}, {"off", true}} {
		w := &fakeServer{converts: !tc.vcard4} // what the server would say, if asked
		p, st := setupWith(t, w, nil, Config{VCardConversion: tc.mode})
		status := "hi"
		commitProfile(t, st, "k", outbox.Change{Status: &status})
		drainAll(t, p, st)
		if got := w.vcard4 != ""; got != tc.vcard4 {
			t.Errorf("vcard_conversion %s: vcard4 published %v, want %v", tc.mode, got, tc.vcard4)
		}
		for _, iq := range w.iqs {
			if strings.Contains(iq, "disco#info") {
				t.Errorf("vcard_conversion %s: asked the server", tc.mode)
			}
		}
	}
}

// With pubsub "both" granted, kinds only the vCard4 item has (set there by
// a vCard4 client) survive; the ones vcard-temp has are replaced.
func TestProfileVCard4KeepsVCard4OnlyFieldsWhenGranted(t *testing.T) {
	old := `<vcard xmlns='urn:ietf:params:xml:ns:vcard-4.0'><fn><text>Alice Example</text></fn><note><text>old</text></note><gender><sex>F</sex></gender></vcard>`
	for _, tc := range []struct {
		grant  string
		gender string
	}{{"both", "F"}, {"set", ""}} {
		w := &fakeServer{vcard4: old, perms: component.Perms{Version: component.NSPrivilege, IQ: map[string]string{
			"http://jabber.org/protocol/pubsub": tc.grant, "vcard-temp": "both"}}}
		p, st := setup(t, w, nil)
		status := "new"
		commitProfile(t, st, "k", outbox.Change{Status: &status})
		drainAll(t, p, st)
		got := parseXCard(t, w.vcard4)
		if !reflect.DeepEqual(got.Notes, []string{"new"}) || got.Gender != tc.gender {
			t.Errorf("pubsub %s: vcard4 %s", tc.grant, w.vcard4)
		}
	}
}

func TestProfileMoodOnlyWhenEnabled(t *testing.T) {
	for _, enabled := range []bool{false, true} {
		w := &fakeServer{}
		p, st := setupWith(t, w, nil, Config{StatusAsMood: enabled})
		status, blank, nick := "At the beach", "  ", "Ally"
		commitProfile(t, st, "a", outbox.Change{Status: &status})
		// An empty status changes nothing, mood included.
		commitProfile(t, st, "b", outbox.Change{Status: &blank, Nick: &nick})
		drainAll(t, p, st)
		var moods []string
		for _, iq := range w.iqs {
			if pepNode(iq) == "http://jabber.org/protocol/mood" {
				moods = append(moods, iq)
			}
		}
		var mood struct {
			Undefined *struct{} `xml:"undefined"`
			Text      string    `xml:"text"`
		}
		switch {
		case !enabled && len(moods) != 0:
			t.Errorf("mood published while off: %q", moods)
		case enabled && len(moods) != 1:
			t.Errorf("mood while on: %q", moods)
		case enabled:
			if err := xml.Unmarshal([]byte(element(moods[0], "http://jabber.org/protocol/mood", "mood")), &mood); err != nil ||
				mood.Undefined == nil || mood.Text != "At the beach" {
				t.Errorf("mood while on: %q (%v)", moods, err)
			}
		}
	}
}

// A vCard4 publish the host did not grant fails the item with a reason
// that names it (and is never sent).
func TestProfileVCard4NotGranted(t *testing.T) {
	w := &fakeServer{}
	p, st := setup(t, w, nil)
	status := "x"
	commitProfile(t, st, "k", outbox.Change{Status: &status})
	w.perms = component.Perms{Version: component.NSPrivilege, IQ: map[string]string{"vcard-temp": "both"}} // no pubsub at all
	var results []Result
	p.OnResult = func(r Result) { results = append(results, r) }
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(results) != 1 || !results[0].Final || !errors.Is(results[0].Err, component.ErrNotGranted) || !strings.Contains(results[0].Err.Error(), "vcard4") {
		t.Fatalf("results %+v", results)
	}
}
