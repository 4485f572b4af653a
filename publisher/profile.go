package publisher

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"strings"
	"sync"

	"mellium.im/xmpp/jid"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/vcard"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"
)

// NSVCardConversion is what a server advertises on accounts when it turns
// vcard-temp into PEP and back itself (Prosody's mod_vcard_legacy).
const NSVCardConversion = "urn:xmpp:pep-vcard-conversion:0"

// conversion remembers, per host, whether the server converts vCards,
// and whether it makes the vCard4 too.
type conversion struct {
	mode   string // "auto", "on", "off"
	mu     sync.Mutex
	seen   map[string]bool
	vcard4 map[string]bool
}

// converts tells whether owner's server mirrors vcard-temp and PEP itself.
// Then we write the avatar to PEP only and let the server fill the vCard
// PHOTO, and everything else to vcard-temp only: one consistent result, no
// two writers fighting over the same fields.
func (p *Publisher) converts(ctx context.Context, owner jid.JID) bool {
	switch p.conv.mode {
	case "on":
		return true
	case "off":
		return false
	}
	host := owner.Domainpart()
	p.conv.mu.Lock()
	v, ok := p.conv.seen[host]
	p.conv.mu.Unlock()
	if ok {
		return v
	}
	answer, err := p.w.PrivilegedIQ(ctx, owner, "get", discoInfoQuery())
	if err != nil {
		// Without disco#info permission we cannot ask; a server that does
		// not convert is the safe guess (we then write both sides).
		if !errors.Is(err, component.ErrNotGranted) {
			p.log.Warn("cannot tell whether the server converts vCards; assuming it does not", "host", host, "err", err)
			return false
		}
		v = false
	} else {
		v = bytes.Contains(answer, []byte(NSVCardConversion))
	}
	p.conv.mu.Lock()
	p.conv.seen[host] = v
	p.conv.mu.Unlock()
	p.log.Info("vCard conversion by the server", "host", host, "converts", v)
	return v
}

// makesVCard4 tells whether owner's server derives the XEP-0292 vCard4
// from vcard-temp itself. Of the servers that advertise vCard conversion,
// Prosody's mod_vcard_legacy does; ejabberd's mod_avatar converts only
// the avatar, so there the vCard4 is ours to publish.
func (p *Publisher) makesVCard4(ctx context.Context, owner jid.JID) bool {
	if !p.converts(ctx, owner) {
		return false
	}
	host := owner.Domainpart()
	p.conv.mu.Lock()
	v, ok := p.conv.vcard4[host]
	p.conv.mu.Unlock()
	if ok {
		return v
	}
	// The component asks right after the handshake; the answer, or the
	// silence of ejabberd 24.x, comes within its short own-IQ timeout.
	wctx, cancel := context.WithTimeout(ctx, p.cfg.PermissionsWait)
	srv, err := p.w.WaitServer(wctx, host)
	cancel()
	if err != nil {
		// Unknown: keep the conversion's word, as before servers were asked.
		p.log.Warn("cannot tell what the server runs; assuming its vCard conversion makes vCard4", "host", host, "err", err)
		return true
	}
	v = !srv.Ejabberd() && !srv.Silent
	p.conv.mu.Lock()
	p.conv.vcard4[host] = v
	p.conv.mu.Unlock()
	p.log.Info("vCard4 made by the server", "host", host, "server", srv.String(), "makes_vcard4", v)
	return v
}

// publishProfile writes status, nickname and vCard fields: the nick to
// XEP-0172, everything to vcard-temp (merged), then the merged vcard-temp
// as XEP-0292 vCard4 where the server does not convert it itself, and the
// status as XEP-0107 mood when the operator asked for it.
func (p *Publisher) publishProfile(ctx context.Context, owner jid.JID, prof outbox.Change) error {
	if prof.Nick != nil && *prof.Nick != "" {
		if _, err := p.w.PrivilegedIQ(ctx, owner, "set", pep.Nick(*prof.Nick)); err != nil {
			return fmt.Errorf("publisher: nick for %s: %w", owner, err)
		}
	}
	merged, err := p.mergeVCard(ctx, owner, profileFields(prof))
	if err != nil {
		return err
	}
	// A server that makes vCard4 (mod_vcard_legacy) has already turned
	// the vcard-temp set into its own vCard4 item, DESC as note:
	// publishing ours too would make two writers of one node.
	if !p.makesVCard4(ctx, owner) {
		if err := p.publishVCard4(ctx, owner, merged); err != nil {
			return err
		}
	}
	if status := nonEmpty(prof.Status); p.cfg.StatusAsMood && status != nil {
		if _, err := p.w.PrivilegedIQ(ctx, owner, "set", pep.MoodText(*status)); err != nil {
			return fmt.Errorf("publisher: mood for %s: %w", owner, err)
		}
	}
	return nil
}

// profileFields is what a profile item changes in the vCard: the status
// goes to DESC, the nickname to NICKNAME unless the sender's card has one.
func profileFields(prof outbox.Change) vcard.Fields {
	var f vcard.Fields
	if prof.VCard != nil {
		f = *prof.VCard
	}
	f.Desc = nonEmpty(prof.Status)
	if f.Nickname == nil {
		f.Nickname = nonEmpty(prof.Nick)
	}
	return f
}

func nonEmpty(s *string) *string {
	if s == nil || strings.TrimSpace(*s) == "" {
		return nil
	}
	return s
}

// mergeVCard reads the account's vcard-temp, changes only the fields we
// own and writes it back, so what the user set from a client survives. It
// returns the document it wrote.
//
// Right after our own write to the same account, in the same pass, the
// read is skipped and the merge starts from what we wrote (vcardMemo says
// within what bounds). Not where the server converts vCards: there the
// stored vcard-temp is the server's rendering of PEP, not our bytes.
func (p *Publisher) mergeVCard(ctx context.Context, owner jid.JID, f vcard.Fields) (*vcard.Temp, error) {
	memo := memoFrom(ctx)
	account := owner.String()
	doc, known := memo.recent(account, p.now())
	if known && p.converts(ctx, owner) {
		known = false
	}
	if !known {
		raw, err := p.w.PrivilegedIQ(ctx, owner, "get", vcardTempQuery())
		var iqErr *component.IQError
		if errors.As(err, &iqErr) && iqErr.Inner && iqErr.Stanza.Condition == "item-not-found" {
			raw, err = nil, nil // no vCard yet
		}
		if err != nil {
			return nil, fmt.Errorf("publisher: read vcard of %s: %w", owner, err)
		}
		if doc, err = vcard.ParseTemp(vcardElement(raw)); err != nil {
			return nil, &Permanent{fmt.Errorf("publisher: vcard of %s: %w", owner, err)}
		}
	}
	doc.Apply(f)
	if _, err := p.w.PrivilegedIQ(ctx, owner, "set", doc.Marshal()); err != nil {
		memo.forget(account)
		return nil, fmt.Errorf("publisher: write vcard of %s: %w", owner, err)
	}
	if !p.converts(ctx, owner) {
		memo.keep(account, doc, p.now())
	}
	return doc, nil
}

// vcardElement picks the <vCard/> out of an answer payload.
func vcardElement(raw []byte) []byte {
	if len(bytes.TrimSpace(raw)) == 0 {
		return nil
	}
	d := xml.NewDecoder(bytes.NewReader(raw))
	for {
		off := d.InputOffset()
		tok, err := d.Token()
		if err != nil {
			return nil
		}
		if se, ok := tok.(xml.StartElement); ok {
			if se.Name.Local == "vCard" && se.Name.Space == vcard.NSTemp {
				if err := d.Skip(); err != nil {
					return nil
				}
				return raw[off:d.InputOffset()]
			}
		}
	}
}

// avatarToVCard mirrors the avatar into the vCard PHOTO for clients that
// read XEP-0153, when the server does not do it itself.
func (p *Publisher) avatarToVCard(ctx context.Context, owner jid.JID, a *storage.Avatar) error {
	if p.converts(ctx, owner) {
		return nil
	}
	_, err := p.mergeVCard(ctx, owner, vcard.Fields{Photo: &vcard.Photo{Type: a.Type, Data: a.Data}})
	return err
}
