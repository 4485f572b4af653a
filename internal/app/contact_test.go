package app_test

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"image/png"
	"strings"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"mmsprofile/internal/testkit/xmppclient"
)

// What alice's contacts see of her profile, through their own clients.

// nextAvatar waits for bob's next avatar event from alice that carries an
// avatar. Where the server publishes "no avatar" for a vCard without PHOTO
// (ejabberd's mod_avatar), those events are skipped.
func (e *env) nextAvatar() xmppclient.AvatarEvent {
	e.t.Helper()
	for {
		select {
		case ev := <-e.bob.AvatarEvents():
			if !ev.From.Equal(e.alice) {
				e.t.Fatalf("event from %s, want %s", ev.From, e.alice)
			}
			if len(ev.Infos) == 0 && e.xmpp.emptyAvatars {
				e.t.Logf("skipping an avatar event without info (id %s)", ev.ItemID)
				continue
			}
			return ev
		case <-time.After(30 * time.Second):
			e.t.Fatal("no avatar event reached bob")
		}
	}
}

// checkAvatar fetches the PEP data item id of owner's avatar, checks it is
// the operator's standard avatar (a 128×128 PNG whose SHA-1 is the id),
// and returns it.
func checkAvatar(ctx context.Context, t testing.TB, c *xmppclient.Client, owner jid.JID, id string) []byte {
	t.Helper()
	data, err := c.FetchAvatarData(ctx, owner, id)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha1.Sum(data)
	if hex.EncodeToString(sum[:]) != id {
		t.Fatalf("data SHA-1 %x, item id %s", sum, id)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("avatar is not a PNG: %v", err)
	}
	if b := img.Bounds(); b.Dx() != 128 || b.Dy() != 128 {
		t.Fatalf("avatar %v, want 128x128", b)
	}
	return data
}

// vcardDoc is the part of a vcard-temp the tests read.
type vcardDoc struct {
	FN       string `xml:"FN"`
	Nickname string `xml:"NICKNAME"`
	Desc     string `xml:"DESC"`
	Note     string `xml:"NOTE"`
	Title    string `xml:"TITLE"`
	Org      string `xml:"ORG>ORGNAME"`
	Custom   string `xml:"X-CUSTOM"`
	Street   string `xml:"ADR>STREET"`
	Tels     []struct {
		Number string `xml:"NUMBER"`
	} `xml:"TEL"`
	Photo struct {
		Type   string `xml:"TYPE"`
		Binval string `xml:"BINVAL"`
	} `xml:"PHOTO"`
}

// waitVCard polls bob's view of alice's vCard until ok accepts it, with
// the hex SHA-1 of its PHOTO ("" without one), or ctx ends.
func (e *env) waitVCard(ctx context.Context, ok func(doc vcardDoc, photoSHA1 string) bool) (vcardDoc, string) {
	e.t.Helper()
	for {
		raw, err := e.bob.FetchVCard(ctx, e.alice)
		// The avatar goes out before the vCard, so a test that waited
		// for the avatar event may ask before alice has a vCard at all.
		var se stanza.Error
		notYet := errors.As(err, &se) && se.Condition == stanza.ItemNotFound
		if err != nil && !notYet {
			e.t.Fatal(err)
		}
		var doc vcardDoc
		if err := xml.Unmarshal(raw, &doc); err != nil && !notYet {
			e.t.Fatalf("vcard %s: %v", raw, err)
		}
		photo, _ := base64.StdEncoding.DecodeString(strings.Join(strings.Fields(doc.Photo.Binval), ""))
		sum := ""
		if len(photo) > 0 {
			s := sha1.Sum(photo)
			sum = hex.EncodeToString(s[:])
		}
		if !notYet && ok(doc, sum) {
			return doc, sum
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("vCard never showed the update:\n%s", raw)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
