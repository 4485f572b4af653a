package publisher

import (
	"context"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/vcard"
	"mmsprofile/xmpp/component"
)

// backend is how profile data reaches one host's accounts.
type backend int

const (
	// backendPrivileged writes PEP and vcard-temp through XEP-0356 v0.4
	// privileged IQs: Prosody with mod_privilege, ejabberd ≥ 24.10.
	backendPrivileged backend = iota
	// backendEjabberdAPI writes one vcard-temp set through ejabberd's HTTP
	// API (send_stanza) and lets mod_avatar and mod_vcard_xupdate turn it
	// into PEP and presence: ejabberd < 24.10, whose XEP-0356 is v0.2.
	backendEjabberdAPI
)

func (b backend) String() string {
	if b == backendEjabberdAPI {
		return "ejabberd-api"
	}
	return "privileged-iq"
}

// chooseBackend decides from what host granted in this session. Any IQ
// permission of XEP-0356 v0.4 means the privileged path (a namespace it
// lacks then fails that write with ErrNotGranted, naming it); none at
// all, as from ejabberd 23.01's urn:xmpp:privilege:1, means the HTTP API
// when it is configured. Otherwise nothing can write to the account and
// only the operator can change that, so the error is permanent and says
// what to configure.
func chooseBackend(host string, perms component.Perms, haveAPI bool) (backend, error) {
	if perms.Version == component.NSPrivilege && len(perms.IQ) > 0 {
		return backendPrivileged, nil
	}
	if haveAPI {
		return backendEjabberdAPI, nil
	}
	version := perms.Version
	if version == "" {
		version = "an unknown XEP-0356 version"
	}
	return 0, &Permanent{fmt.Errorf("publisher: host %s grants no XEP-0356 IQ permission (it speaks %s, as ejabberd before 24.10 does): "+
		"add to the config [ejabberd] api_url = \"http://127.0.0.1:5280/api\" with api_user and api_password (see docs/ejabberd.md), "+
		"or grant the component iq permissions for http://jabber.org/protocol/pubsub and vcard-temp in mod_privilege (ejabberd ≥ 24.10, Prosody)",
		host, version)}
}

// backendFor asks the component what owner's host granted. Errors that
// mean "not yet" (no session, no advertisement yet) are the component's
// sentinels, which Drain treats as "nothing was tried".
func (p *Publisher) backendFor(ctx context.Context, owner jid.JID) (backend, error) {
	if !p.w.Connected() {
		return 0, component.ErrNotConnected
	}
	host := owner.Domainpart()
	// The server says what it grants right after the handshake; give it a
	// moment rather than failing the first publish of a session.
	wctx, cancel := context.WithTimeout(ctx, p.cfg.PermissionsWait)
	perms, err := p.w.WaitPermissions(wctx, host)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return 0, ctx.Err()
		}
		return 0, fmt.Errorf("%w: %s", component.ErrPermissionsUnknown, host)
	}
	b, err := chooseBackend(host, perms, p.cfg.EjabberdAPI.URL != "")
	if err == nil && b == backendPrivileged && p.isBouncing(host) {
		b = backendEjabberdAPI
	}
	return b, err
}

func (p *Publisher) isBouncing(host string) bool {
	p.bouncingMu.Lock()
	defer p.bouncingMu.Unlock()
	return p.bouncing[host]
}

// noteBounce switches host to the HTTP API after a privileged IQ came back
// bounced although the component had readdressed it, when the API is
// configured; the item itself is retried after the outbox's backoff, never
// at once, so a host that bounces everything costs one IQ per retry.
func (p *Publisher) noteBounce(host string, err error) {
	if !errors.Is(err, component.ErrBounced) || p.cfg.EjabberdAPI.URL == "" {
		return
	}
	p.bouncingMu.Lock()
	already := p.bouncing[host]
	p.bouncing[host] = true
	p.bouncingMu.Unlock()
	if !already {
		p.log.Warn("host sends privileged IQs back: writing to it through the HTTP API from now on", "host", host, "err", err)
	}
}

// attempt publishes it and returns the items the attempt covered, which
// share its error: it alone, or, on the ejabberd API backend, it and the
// later avatar and profile items of the same account in rest, because
// every vCard set there re-publishes the avatar to PEP and contacts
// should see one change per MMS, not one per field. With privileged IQs,
// a profile item covers the account's profile items right behind it
// (mergedProfile).
func (p *Publisher) attempt(ctx context.Context, it storage.OutboxItem, rest []storage.OutboxItem) ([]storage.OutboxItem, error) {
	covered := []storage.OutboxItem{it}
	if it.Kind != storage.KindAvatar && it.Kind != storage.KindProfile || it.JID == "" {
		return covered, p.publish(ctx, it)
	}
	owner, err := jid.Parse(it.JID)
	if err != nil {
		return covered, &Permanent{fmt.Errorf("publisher: jid %q: %w", it.JID, err)}
	}
	b, err := p.backendFor(ctx, owner)
	if err != nil {
		return covered, err
	}
	if b == backendPrivileged {
		if it.Kind == storage.KindProfile {
			prof, run, err := mergedProfile(it, rest)
			if err != nil {
				return covered, err
			}
			err = p.publishProfile(ctx, owner, prof)
			p.noteBounce(owner.Domainpart(), err)
			return run, err
		}
		err := p.publish(ctx, it)
		p.noteBounce(owner.Domainpart(), err)
		return covered, err
	}
	first, err := vcardChange(it)
	if err != nil {
		return covered, err
	}
	changes := []vcard.Fields{first}
	for _, r := range rest {
		if r.JID != it.JID || r.Kind != storage.KindAvatar && r.Kind != storage.KindProfile {
			continue
		}
		c, err := vcardChange(r)
		if err != nil {
			continue // fails on its own turn, with its own reason
		}
		covered = append(covered, r)
		changes = append(changes, c)
	}
	return covered, p.publishViaAPI(ctx, owner, changes)
}

// mergedProfile is it, a profile item, with the same account's profile
// items that follow it in rest laid over it field by field, and the items
// it stands for. A backlog (an outage, a burst from one phone) then costs
// one vCard write and one vCard4 publish per account and pass, not per
// item, and ends in the state the items one by one would have left: the
// newest status, nickname and fields. What contacts no longer see are the
// states in between, as with avatars, of which storage keeps only the
// newest. The account's messages keep their order among themselves and
// all follow the change they tell of (each MMS's "updated" message comes
// after its status in the batch, so every one now comes after the newest
// status). The run stops at a profile item that cannot be read, which
// then fails on its own turn, so nothing is published ahead of it.
func mergedProfile(it storage.OutboxItem, rest []storage.OutboxItem) (outbox.Change, []storage.OutboxItem, error) {
	run := []storage.OutboxItem{it}
	var prof outbox.Change
	if err := outbox.Decode(it, &prof); err != nil {
		return prof, run, &Permanent{fmt.Errorf("publisher: profile item %d: %w", it.ID, err)}
	}
	for _, r := range rest {
		if r.JID != it.JID {
			continue
		}
		if r.Kind != storage.KindProfile {
			continue
		}
		var later outbox.Change
		if outbox.Decode(r, &later) != nil {
			break
		}
		overlayProfile(&prof, later)
		run = append(run, r)
	}
	return prof, run, nil
}

// overlayProfile sets in dst what src sets; like overlay, an empty value
// is unset and does not undo what an earlier item said.
func overlayProfile(dst *outbox.Change, src outbox.Change) {
	if s := nonEmpty(src.Status); s != nil {
		dst.Status = s
	}
	if s := nonEmpty(src.Nick); s != nil {
		dst.Nick = s
	}
	if src.VCard != nil {
		if dst.VCard == nil {
			dst.VCard = &vcard.Fields{}
		}
		overlay(dst.VCard, *src.VCard)
	}
}
