package publisher

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"

	"mmsprofile/vcard"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"
)

// publishVCard4 mirrors the merged vcard-temp (merged, as written) onto
// XEP-0292's urn:xmpp:vcard4 node, for servers that keep the two apart
// (Prosody's mod_vcard): clients that read only vCard4 then see the same
// status (note), nickname and personal fields as those reading vcard-temp.
//
// The item is regenerated from vcard-temp, which holds the user's own
// fields as well as ours, so nothing the user set in vcard-temp is lost.
// What vcard-temp cannot hold is another matter: fields a vCard4 client
// set only in the vCard4 item (gender, lang, a second impp, …) would be
// replaced by a blind publish. Reading the item first needs the pubsub
// "get" privilege, which Prosody's mod_privilege grants when the operator
// writes ["http://jabber.org/protocol/pubsub"] = "both". With it, kinds of
// property vcard-temp does not have are carried over from the current
// item; without it (the usual "set" grant) the item is replaced, and a
// vCard4-only field set by a client on such a server is lost.
func (p *Publisher) publishVCard4(ctx context.Context, owner jid.JID, merged *vcard.Temp) error {
	v, err := merged.VCard4()
	if err != nil {
		return &Permanent{fmt.Errorf("publisher: vcard4 for %s: %w", owner, err)}
	}
	if v.Empty() {
		return nil
	}
	old, err := p.currentVCard4(ctx, owner)
	if err != nil {
		return err
	}
	v = v.Keep(old)
	if _, err := p.w.PrivilegedIQ(ctx, owner, "set", pep.VCard4Publish(v)); err != nil {
		return fmt.Errorf("publisher: vcard4 for %s: %w", owner, err)
	}
	return nil
}

// currentVCard4 reads owner's vCard4 item when the host granted pubsub
// get, and returns an empty one when it did not, when there is none, or
// when the stored one cannot be read (it is then replaced, as it would be
// without the grant).
func (p *Publisher) currentVCard4(ctx context.Context, owner jid.JID) (vcard.VCard4, error) {
	raw, err := p.w.PrivilegedIQ(ctx, owner, "get", pep.VCard4Request())
	if errors.Is(err, component.ErrNotGranted) {
		// Never sent: asking for what was not granted kills the session
		// on Debian's mod_privilege.
		return vcard.VCard4{}, nil
	}
	var iqErr *component.IQError
	if errors.As(err, &iqErr) && iqErr.Inner && iqErr.Stanza.Condition == "item-not-found" {
		return vcard.VCard4{}, nil // no node yet: the publish creates it
	}
	if err != nil {
		return vcard.VCard4{}, fmt.Errorf("publisher: read vcard4 of %s: %w", owner, err)
	}
	v, _, err := pep.VCard4FromItems(raw)
	if err != nil {
		p.log.Warn("replacing an unreadable vCard4 item", "jid", owner.String(), "err", err)
		return vcard.VCard4{}, nil
	}
	return v, nil
}
