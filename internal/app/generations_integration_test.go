package app_test

import (
	"context"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/prosody"
)

// An account that has never had a vCard, on every Prosody generation with
// either vCard module: the service reads the vCard first (item-not-found,
// which Prosody 13.0.6 also puts on the outer IQ), then writes one with the
// photo and the status, and the contact sees both.
func TestFirstVCardOnEveryProsody(t *testing.T) {
	for _, g := range prosody.Generations() {
		for _, module := range []string{"vcard", "vcard_legacy"} {
			t.Run(g.Name+"/"+module, func(t *testing.T) {
				e := startWith(t, envOptions{vcardModule: module, prosodyRoot: g.Root})
				e.accept("first", mm7sample.Deliver{TransactionID: "tx-first", MessageID: "msg-first", Sender: aliceNumber, Text: "First words", Image: mm7sample.Photo(640, 480, 5)})
				ev := e.nextAvatar()
				ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
				defer cancel()
				checkAvatar(ctx, t, e.bob, e.alice, ev.ItemID)
				doc, _ := e.waitVCard(ctx, func(doc vcardDoc, sum string) bool {
					return sum == ev.ItemID && doc.Desc+doc.Note != ""
				})
				if got := doc.Desc + doc.Note; got != "First words" {
					t.Fatalf("status in the vCard %q, want %q", got, "First words")
				}
			})
		}
	}
}
