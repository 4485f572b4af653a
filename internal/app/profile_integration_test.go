package app_test

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
)

// What alice set from her own client: nothing of it may be lost.
const clientVCard = `<vCard xmlns='vcard-temp'><FN>Alice Example</FN><TEL><HOME/><VOICE/><NUMBER>+1 202 555 0100</NUMBER></TEL>` +
	`<ADR><WORK/><STREET>1 Main St</STREET><LOCALITY>Springfield</LOCALITY></ADR><JABBERID>alice@localhost</JABBERID>` +
	`<X-CUSTOM>kept as it was</X-CUSTOM></vCard>`

const senderCard = `BEGIN:VCARD
VERSION:3.0
FN:Alice Example
ORG:Example Corp
TITLE:Engineer
TEL;TYPE=CELL:+1 202 555 0143
END:VCARD`

// profileMMS carries every kind of profile data: a photo, a nickname, a
// status and the sender's vCard.
func profileMMS() mm7sample.Deliver {
	return mm7sample.Deliver{TransactionID: "tp", MessageID: "mp", Sender: aliceNumber,
		Image: mm7sample.Photo(800, 600, 11), Text: "NICK Ally\nAt the beach", VCard: senderCard}
}

// ownVCardAndCarol is a beforeStart for the profile tests: alice sets her
// own vCard from her client, and gains carol as a contact, who is offline
// when the MMS arrives.
func ownVCardAndCarol(t *testing.T) func(ctx context.Context, xs *xmppServer, alice *xmppclient.Client) {
	return func(ctx context.Context, xs *xmppServer, alice *xmppclient.Client) {
		if typ, p, err := alice.IQ(ctx, jid.JID{}, "set", []byte(clientVCard)); err != nil || typ != "result" {
			t.Fatalf("alice sets her vCard: %s %s %v", typ, p, err)
		}
		if err := xs.Register(ctx, "carol", "pw-carol"); err != nil {
			t.Fatal(err)
		}
		carol := xs.dial(ctx, t, "carol", nil)
		defer carol.Close()
		xs.makeContacts(ctx, t, alice, carol)
	}
}

// lateContact logs carol in after the update: the avatar she gets at login
// must be id.
func (e *env) lateContact(ctx context.Context, t *testing.T, id string) *xmppclient.Client {
	t.Helper()
	carol := e.xmpp.dial(ctx, t, "carol", testLogger(t))
	t.Cleanup(func() { carol.Close() })
	select {
	case late := <-carol.AvatarEvents():
		if late.ItemID != id {
			t.Fatalf("late contact got %s, want %s", late.ItemID, id)
		}
	case <-ctx.Done():
		t.Fatal("a contact logging in after the update got no avatar")
	}
	return carol
}

// Each kind of profile data travels from an MM7 MMS to what other clients
// see: one contact online during the update, one logging in after; with
// Prosody storing vCards as they are (mod_vcard) and converting them to PEP
// (mod_vcard_legacy).
func TestProfileReachesClients(t *testing.T) {
	for _, g := range prosody.Generations() {
		for _, module := range []string{"vcard", "vcard_legacy"} {
			t.Run(g.Name+"/"+module, func(t *testing.T) {
				e := startWith(t, envOptions{vcardModule: module, prosodyRoot: g.Root, beforeStart: ownVCardAndCarol(t)})
				ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
				defer cancel()

				e.accept("profile", profileMMS())
				// Online contact: the PEP events, live.
				ev := e.nextAvatar()
				// vCard4 (XEP-0292): with mod_vcard we publish it from the merged
				// vcard-temp; mod_vcard_legacy makes its own from the vcard-temp
				// set (DESC → note), and we publish none. Either way a vCard4
				// client sees the status as the note, and the client's fields.
				// (With mod_vcard_legacy bob also saw the item made from alice's
				// own vCard before the MMS: wait for the one with the status.)
				live := waitVCard4(ctx, t, e.bob, e.alice, "At the beach")
				checkVCard4(t, "live event", module, live)

				// vCard as any client fetches it: our fields in, theirs intact.
				vctx, vcancel := context.WithTimeout(ctx, 20*time.Second)
				defer vcancel()
				doc, _ := e.waitVCard(vctx, func(doc vcardDoc, sum string) bool {
					return doc.Desc+doc.Note != "" && doc.Nickname != "" && sum == ev.ItemID
				})
				// mod_vcard_legacy stores vCard4 and shows the status as NOTE.
				shown := doc.Desc
				if module == "vcard_legacy" {
					shown = doc.Note
				}
				if shown != "At the beach" || doc.Nickname != "Ally" || doc.Title != "Engineer" || doc.Org != "Example Corp" {
					t.Errorf("our fields: %+v", doc)
				}
				if doc.FN != "Alice Example" || doc.Street != "1 Main St" || len(doc.Tels) == 0 || doc.Tels[0].Number != "+1 202 555 0100" {
					t.Errorf("the client's fields were not kept: %+v", doc)
				}
				// Only a server that stores vcard-temp as it is can keep fields
				// vCard4 has no place for; there we must not lose them.
				if module == "vcard" && doc.Custom != "kept as it was" {
					t.Errorf("an extension field was lost: %+v", doc)
				}

				// A contact who logs in later gets the current avatar.
				carol := e.lateContact(ctx, t, ev.ItemID)
				data, err := carol.FetchAvatarData(ctx, e.alice, ev.ItemID)
				if err != nil || len(data) == 0 || !bytes.HasPrefix(data, []byte("\x89PNG")) {
					t.Fatalf("late contact fetches data: %d bytes, %v", len(data), err)
				}
				// ... and the vCard4: as the last item at login, and on request.
				checkVCard4(t, "last item at login", module, waitVCard4(ctx, t, carol, e.alice, "At the beach"))
				fetched, err := carol.FetchVCard4(ctx, e.alice)
				if err != nil {
					t.Fatal(err)
				}
				checkVCard4(t, "fetched", module, fetched)
			})
		}
	}
}

// waitVCard4 waits for a vCard4 event from owner whose notes hold note.
func waitVCard4(ctx context.Context, t *testing.T, c *xmppclient.Client, owner jid.JID, note string) xmppclient.VCard4 {
	t.Helper()
	for {
		select {
		case ev, ok := <-c.VCard4Events():
			if !ok {
				t.Fatalf("session ended before the vcard4 event: %v", c.Err())
			}
			if ev.From.Equal(owner) && ev.ItemID == "current" && slices.Contains(ev.VCard.Notes, note) {
				return ev.VCard
			}
			t.Logf("other vcard4 event: %+v", ev)
		case <-ctx.Done():
			t.Fatalf("%s got no vcard4 event from %s with note %q", c.JID(), owner, note)
		}
	}
}

// checkVCard4 checks what a vCard4 client sees after the MMS: our fields
// and the ones alice set from her client, with the status as the note.
func checkVCard4(t *testing.T, what, module string, v xmppclient.VCard4) {
	t.Helper()
	if len(v.Notes) == 0 || v.Notes[0] != "At the beach" || v.Nickname != "Ally" || v.Title != "Engineer" ||
		len(v.Org) == 0 || v.Org[0] != "Example Corp" {
		t.Errorf("%s (%s): our fields in vcard4: %+v", what, module, v)
	}
	// Both writers map TEL the same way, spaces aside (a tel: URI has
	// none; we write RFC 3966's "-", mod_vcard_legacy copies the text).
	if v.FN != "Alice Example" || len(v.Tels) == 0 || strings.Join(strings.FieldsFunc(v.Tels[0], func(r rune) bool { return r == ' ' || r == '-' }), "") != "tel:+12025550100" {
		t.Errorf("%s (%s): alice's own fields in vcard4: %+v", what, module, v)
	}
}
