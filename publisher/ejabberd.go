package publisher

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/hex"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/vcard"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/ejabberdapi"
)

// The ejabberd HTTP API backend. ejabberd 23.01 grants a component no
// IQ permission, so nothing can write a user's PEP directly. What it does
// offer is send_stanza, which routes a stanza as if the user had sent it:
// a vcard-temp set sent that way from the user's bare JID to itself runs
// the same hooks as a client's own set, so mod_avatar publishes the PHOTO
// to PEP (XEP-0084) and mod_vcard_xupdate announces its hash in presence
// (XEP-0153). Everything we own travels in that one vCard: PHOTO (the
// avatar), DESC (the status line), NICKNAME and the personal fields.
//
// Reading: no API command returns a whole vCard (get_vcard2 reads one
// field, and cannot tell us the fields we do not know, nor TEL's or ADR's
// type flags), so the current vCard is read with an ordinary vcard-temp
// get from the component, which ejabberd answers for anyone. That keeps
// every element the user set from a client byte for byte.
//
// Confirming: send_stanza answers 200 whatever happens to the stanza, and
// before mod_vcard has stored it, so the write counts only once the API
// shows every field we set (the photo by SHA-1 through get_vcard2 PHOTO
// BINVAL). set_vcard and set_vcard2 are never used: they write the
// database directly and skip the hooks, so no PEP, no presence hash.

// vcardChange is what one avatar or profile item changes in the vCard.
func vcardChange(it storage.OutboxItem) (vcard.Fields, error) {
	switch it.Kind {
	case storage.KindAvatar:
		if it.Avatar == nil || len(it.Avatar.Data) == 0 {
			return vcard.Fields{}, &Permanent{fmt.Errorf("publisher: avatar item %d without image", it.ID)}
		}
		return vcard.Fields{Photo: &vcard.Photo{Type: it.Avatar.Type, Data: it.Avatar.Data}}, nil
	case storage.KindProfile:
		var prof outbox.Change
		if err := outbox.Decode(it, &prof); err != nil {
			return vcard.Fields{}, &Permanent{fmt.Errorf("publisher: profile item %d: %w", it.ID, err)}
		}
		return profileFields(prof), nil
	}
	return vcard.Fields{}, &Permanent{fmt.Errorf("publisher: %s item %d has no vCard fields", it.Kind, it.ID)}
}

// overlay sets in dst what src sets, so that of several items for one
// account the later wins field by field. Empty values count as unset, as
// they do for vcard.Temp.Apply: an item that did not say something must
// not undo an earlier one that did.
func overlay(dst *vcard.Fields, src vcard.Fields) {
	str := func(d **string, s *string) {
		if s != nil && *s != "" {
			*d = s
		}
	}
	if src.Photo != nil && len(src.Photo.Data) > 0 {
		dst.Photo = src.Photo
	}
	str(&dst.Desc, src.Desc)
	str(&dst.Nickname, src.Nickname)
	str(&dst.FN, src.FN)
	str(&dst.Title, src.Title)
	str(&dst.URL, src.URL)
	str(&dst.BDay, src.BDay)
	str(&dst.Note, src.Note)
	if src.N != nil && *src.N != (vcard.Name{}) {
		dst.N = src.N
	}
	if src.Org != nil && (src.Org.Name != "" || len(src.Org.Units) > 0) {
		dst.Org = src.Org
	}
	if len(src.Emails) > 0 {
		dst.Emails = src.Emails
	}
}

// publishViaAPI merges changes into owner's vCard and writes it with one
// send_stanza, then waits until the API shows it stored.
func (p *Publisher) publishViaAPI(ctx context.Context, owner jid.JID, changes []vcard.Fields) error {
	owner = owner.Bare()
	var f vcard.Fields
	for _, c := range changes {
		overlay(&f, c)
	}
	raw, err := p.readVCardAsComponent(ctx, owner)
	if err != nil {
		return err
	}
	doc, err := vcard.ParseTemp(raw)
	if err != nil {
		return &Permanent{fmt.Errorf("publisher: vcard of %s: %w", owner, err)}
	}
	before := doc.Marshal()
	doc.Apply(f)
	after := doc.Marshal()
	if bytes.Equal(before, after) {
		// Already there (a retry after a write that landed but was not
		// confirmed in time): writing again would only re-announce it.
		p.log.Info("vCard already up to date", "jid", owner.String())
		return nil
	}
	checks, err := confirmations(f, after, doc.PhotoSHA1())
	if err != nil {
		return &Permanent{fmt.Errorf("publisher: vcard of %s: %w", owner, err)}
	}
	stanza, err := xml.Marshal(vcardSet{Type: "set", ID: "mms-" + rand.Text(), VCard: after})
	if err != nil {
		return &Permanent{fmt.Errorf("publisher: vcard of %s: marshal the iq: %w", owner, err)}
	}
	// From the bare JID, never a full one: ejabberd routes the PEP event
	// for contacts through the session of the sending resource, and one
	// that does not exist means contacts get nothing.
	api := &p.cfg.EjabberdAPI
	if err := api.SendStanza(ctx, owner.String(), owner.String(), string(stanza)); err != nil {
		return apiFailure(owner, "send_stanza of the vCard", err)
	}
	return p.confirm(ctx, owner, checks)
}

// vcardSet is the vcard-temp set that send_stanza routes as the user's
// own. The vCard goes in as the bytes vcard.Temp wrote: re-encoding it
// would rewrite the namespace prefixes of what the user's clients put there.
type vcardSet struct {
	XMLName xml.Name `xml:"jabber:client iq"`
	Type    string   `xml:"type,attr"`
	ID      string   `xml:"id,attr"`
	VCard   []byte   `xml:",innerxml"`
}

// readVCardAsComponent returns owner's <vCard/> as the server stores it,
// or nil when there is none yet.
func (p *Publisher) readVCardAsComponent(ctx context.Context, owner jid.JID) ([]byte, error) {
	raw, err := p.w.IQ(ctx, owner, "get", vcardTempQuery())
	var iqErr *component.IQError
	switch {
	case err == nil:
		return vcardElement(raw), nil
	case errors.As(err, &iqErr) && iqErr.Stanza.Condition == "item-not-found":
		return nil, nil // no vCard yet
	case errors.As(err, &iqErr) && (iqErr.Permanent() || iqErr.Stanza.Condition == "service-unavailable"):
		// ejabberd answers service-unavailable for an account that does
		// not exist; a write would then be confirmed never.
		return nil, &Permanent{fmt.Errorf("publisher: read vcard of %s as the component: %w (does the account exist, is mod_vcard enabled?)", owner, err)}
	default:
		return nil, fmt.Errorf("publisher: read vcard of %s as the component: %w", owner, err)
	}
}

// check is one field the stored vCard must show after the write.
type check struct {
	name, sub string // get_vcard name, or get_vcard2 name and subname
	want      string // the text; for PHOTO the hex SHA-1 of the data
}

// written are the vCard texts the confirmation reads back, decoded from
// the document we send: the API returns text as stored, after XML
// decoding, so comparing with what Apply rendered (not with the raw
// fields) is exact.
type written struct {
	FN       string `xml:"FN"`
	Nickname string `xml:"NICKNAME"`
	BDay     string `xml:"BDAY"`
	Title    string `xml:"TITLE"`
	Note     string `xml:"NOTE"`
	URL      string `xml:"URL"`
	Desc     string `xml:"DESC"`
	Family   string `xml:"N>FAMILY"`
	Given    string `xml:"N>GIVEN"`
	OrgName  string `xml:"ORG>ORGNAME"`
}

// confirmations lists the checks for every field f sets. The write
// changed at least one of them (an unchanged document is not written),
// so once all show the new values the set has landed. EMAIL and the
// lesser parts of N and ORG are not checked: they change only with a
// field that is.
func confirmations(f vcard.Fields, doc []byte, photoSHA1 string) ([]check, error) {
	var w written
	if err := xml.Unmarshal(doc, &w); err != nil {
		return nil, err
	}
	var out []check
	if f.Photo != nil && len(f.Photo.Data) > 0 {
		out = append(out, check{name: "PHOTO", sub: "BINVAL", want: photoSHA1})
	}
	add := func(set bool, name, sub, want string) {
		if set && strings.TrimSpace(want) != "" {
			out = append(out, check{name: name, sub: sub, want: want})
		}
	}
	isSet := func(s *string) bool { return s != nil && *s != "" }
	add(isSet(f.Desc), "DESC", "", w.Desc)
	add(isSet(f.Nickname), "NICKNAME", "", w.Nickname)
	add(isSet(f.FN), "FN", "", w.FN)
	add(isSet(f.Title), "TITLE", "", w.Title)
	add(isSet(f.URL), "URL", "", w.URL)
	add(isSet(f.BDay), "BDAY", "", w.BDay)
	add(isSet(f.Note), "NOTE", "", w.Note)
	if f.N != nil {
		add(f.N.Family != "", "N", "FAMILY", w.Family)
		add(f.N.Given != "", "N", "GIVEN", w.Given)
	}
	if f.Org != nil {
		add(f.Org.Name != "", "ORG", "ORGNAME", w.OrgName)
	}
	return out, nil
}

// confirm polls the API until every check holds, or gives up after
// ConfirmTimeout with an error the outbox retries: mod_vcard stores the
// vCard asynchronously, a moment after send_stanza has answered.
func (p *Publisher) confirm(ctx context.Context, owner jid.JID, checks []check) error {
	timeout := time.NewTimer(p.cfg.ConfirmTimeout)
	defer timeout.Stop()
	wait := 20 * time.Millisecond
	for {
		mismatch, err := p.mismatch(ctx, owner, checks)
		if err != nil {
			return err
		}
		if mismatch == "" {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("publisher: confirm vcard of %s: %w", owner, ctx.Err())
		case <-timeout.C:
			return fmt.Errorf("publisher: ejabberd did not store the vCard of %s within %s (send_stanza answered 200, but %s)", owner, p.cfg.ConfirmTimeout, mismatch)
		case <-time.After(wait):
		}
		wait = min(2*wait, 500*time.Millisecond)
	}
}

// mismatch returns the first check the stored vCard fails, described, or
// "" when all hold.
func (p *Publisher) mismatch(ctx context.Context, owner jid.JID, checks []check) (string, error) {
	api := &p.cfg.EjabberdAPI
	user, host := owner.Localpart(), owner.Domainpart()
	for _, c := range checks {
		if c.name == "PHOTO" {
			data, err := api.Photo(ctx, user, host)
			if err != nil {
				return "", apiFailure(owner, "get_vcard2 PHOTO BINVAL", err)
			}
			sum := sha1.Sum(data)
			if got := hex.EncodeToString(sum[:]); data == nil || got != c.want {
				return fmt.Sprintf("the stored photo has SHA-1 %s, want %s", orNone(data, got), c.want), nil
			}
			continue
		}
		var got string
		var err error
		if c.sub == "" {
			got, err = api.GetVCard(ctx, user, host, c.name)
		} else {
			got, err = api.GetVCard2(ctx, user, host, c.name, c.sub)
		}
		if errors.Is(err, ejabberdapi.ErrNoVCard) || errors.Is(err, ejabberdapi.ErrNoValue) {
			return fmt.Sprintf("the stored vCard has no %s", fieldName(c)), nil
		}
		if err != nil {
			return "", apiFailure(owner, "get_vcard "+fieldName(c), err)
		}
		if strings.TrimSpace(got) != strings.TrimSpace(c.want) {
			return fmt.Sprintf("the stored %s is %q, want %q", fieldName(c), got, c.want), nil
		}
	}
	return "", nil
}

func fieldName(c check) string {
	if c.sub == "" {
		return c.name
	}
	return c.name + "/" + c.sub
}

func orNone(data []byte, sum string) string {
	if data == nil {
		return "(none)"
	}
	return sum
}

// apiFailure wraps an API error. Errors that time may fix (no answer,
// 5xx, 429) stay retries; the others need the operator, so they fail the
// item at once with what to change.
func apiFailure(owner jid.JID, what string, err error) error {
	err = fmt.Errorf("publisher: %s for %s: %w", what, owner, err)
	var e *ejabberdapi.APIError
	if !errors.As(err, &e) || e.Temporary() {
		return err
	}
	var hint string
	switch {
	case e.Status == http.StatusUnauthorized:
		hint = "check [ejabberd] api_user (a bare JID) and api_password"
	case e.Status == http.StatusForbidden:
		hint = "grant api_user send_stanza, get_vcard and get_vcard2 in ejabberd's api_permissions (docs/ejabberd.md)"
	case e.Status == http.StatusNotFound, e.Status == http.StatusOK:
		hint = "check [ejabberd] api_url: it must be mod_http_api's path, such as http://127.0.0.1:5280/api"
	case strings.Contains(e.Message, "unknown_command"), strings.Contains(e.Message, "Unknown command"):
		hint = "enable mod_admin_extra in ejabberd.yml: it defines send_stanza and the vCard commands"
	default:
		hint = "ejabberd refused the request"
	}
	return &Permanent{fmt.Errorf("%w (%s)", err, hint)}
}
