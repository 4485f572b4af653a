package publisher

import (
	"context"
	"errors"
	"fmt"
	"maps"

	"mellium.im/xmpp/jid"

	"mmsprofile/outbox"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/pep"
)

// sendMessage sends a chat message item. Contacts marked for the roster
// are added to it where the host grants roster set, and the message then
// says so; anywhere else, or when the roster set fails, they are offered
// as an XEP-0144 suggestion, as for an account that did not ask.
func (p *Publisher) sendMessage(ctx context.Context, owner jid.JID, m outbox.Message) error {
	if len(m.Suggest) == 0 {
		return p.w.SendMessage(ctx, owner, m.Body)
	}
	if m.AddToRoster {
		added, err := p.addToRoster(ctx, owner, m.Suggest)
		if err != nil {
			return err
		}
		if added {
			body := m.AddedBody
			if body == "" {
				body = m.Body
			}
			return p.w.SendMessage(ctx, owner, body)
		}
	}
	return p.w.SendMessage(ctx, owner, m.Body, pep.RosterExchange(rosterContacts(m.Suggest)))
}

// rosterContacts is the stored suggestion as pep writes it: the outbox
// keeps the committed form, pep knows nothing of storage.
func rosterContacts(cs []outbox.Contact) []pep.Contact {
	out := make([]pep.Contact, len(cs))
	for i, c := range cs {
		out[i] = pep.Contact{JID: c.JID, Name: c.Name}
	}
	return out
}

// addToRoster adds contacts to owner's roster. added is false, with no
// error, where the host cannot take it (no roster set granted, or a roster
// set that failed: said once per host in the log and kept for the rest of
// the process, so that no item waits on it again); err is what must be
// retried later (no session).
func (p *Publisher) addToRoster(ctx context.Context, owner jid.JID, contacts []outbox.Contact) (added bool, err error) {
	host := owner.Domainpart()
	p.rosterlessMu.Lock()
	why, known := p.rosterless[host]
	p.rosterlessMu.Unlock()
	if known {
		p.log.Debug("contacts suggested, not added: this host's roster sets failed", "jid", owner.String(), "why", why)
		return false, nil
	}
	wctx, cancel := context.WithTimeout(ctx, p.cfg.PermissionsWait)
	perms, err := p.w.WaitPermissions(wctx, host)
	cancel()
	if err != nil {
		if ctx.Err() != nil {
			return false, ctx.Err()
		}
		return false, fmt.Errorf("publisher: roster add for %s: %w", owner, component.ErrPermissionsUnknown)
	}
	if !perms.AllowsRosterSet() {
		p.log.Debug("contacts suggested, not added: the host grants no roster set", "jid", owner.String(), "roster", perms.Roster)
		return false, nil
	}
	items := make([]component.RosterItem, len(contacts))
	for i, c := range contacts {
		items[i] = component.RosterItem{JID: c.JID, Name: c.Name}
	}
	err = p.w.RosterSet(ctx, owner, items)
	switch {
	case err == nil:
		p.log.Info("contacts added to the roster", "jid", owner.String(), "contacts", len(items))
		return true, nil
	case errors.Is(err, component.ErrNotConnected) || errors.Is(err, component.ErrPermissionsUnknown) || ctx.Err() != nil:
		return false, err
	}
	p.rosterlessMu.Lock()
	_, again := p.rosterless[host]
	p.rosterless[host] = err.Error()
	p.rosterlessMu.Unlock()
	if !again {
		args := []any{"host", host, "roster", perms.Roster, "err", err}
		if hint := RosterHint(perms); hint != "" {
			args = append(args, "hint", hint)
		}
		p.log.Warn("roster set failed although granted: contacts are suggested instead on this host", args...)
	}
	return false, nil
}

// RosterFailures returns the hosts whose roster sets failed although
// granted, with what they answered.
func (p *Publisher) RosterFailures() map[string]string {
	p.rosterlessMu.Lock()
	defer p.rosterlessMu.Unlock()
	return maps.Clone(p.rosterless)
}

// RosterHint names the known server bug behind a failed roster set, from
// what the host advertised: XEP-0356 v0.2 is ejabberd before 24.10, and
// before 23.10 its mod_roster crashes on every roster set from a component
// (processone/ejabberd#3942), answering wait/internal-server-error.
func RosterHint(perms component.Perms) string {
	if perms.Version == component.NSPrivilege1 {
		return "ejabberd before 23.10 fails roster sets from components (processone/ejabberd#3942); upgrade ejabberd to add contacts directly"
	}
	return ""
}
