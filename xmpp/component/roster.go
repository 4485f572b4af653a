package component

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"

	"mellium.im/xmpp/jid"
)

// NSRoster is RFC 6121's roster namespace.
const NSRoster = "jabber:iq:roster"

// RosterItem is a contact to put in a user's roster.
type RosterItem struct {
	JID  string
	Name string // "" leaves the client to show the JID
}

// AllowsRosterSet reports whether the host lets the component write its
// users' rosters (XEP-0356 roster permission "set" or "both").
func (p Perms) AllowsRosterSet() bool {
	return p.Roster == "set" || p.Roster == "both"
}

// rosterQuery is a roster set of one item.
type rosterQuery struct {
	XMLName xml.Name `xml:"jabber:iq:roster query"`
	Item    struct {
		JID  string `xml:"jid,attr"`
		Name string `xml:"name,attr,omitempty"`
	} `xml:"item"`
}

// rosterJIDs reads owner's roster as the component (XEP-0356 roster get):
// the bare JIDs in it.
func (c *Component) rosterJIDs(ctx context.Context, owner jid.JID) (map[string]bool, error) {
	get, err := xml.Marshal(struct {
		XMLName xml.Name `xml:"jabber:iq:roster query"`
	}{})
	if err != nil {
		return nil, fmt.Errorf("component: roster of %s: %w", owner, err)
	}
	raw, err := c.ownIQ(ctx, owner, "get", get)
	if err != nil {
		return nil, fmt.Errorf("component: roster of %s: %w", owner, err)
	}
	var q struct {
		Items []struct {
			JID string `xml:"jid,attr"`
		} `xml:"item"`
	}
	if err := xml.Unmarshal(raw, &q); err != nil {
		return nil, fmt.Errorf("component: roster of %s: %w", owner, err)
	}
	out := make(map[string]bool, len(q.Items))
	for _, it := range q.Items {
		if j, err := jid.Parse(it.JID); err == nil {
			out[j.Bare().String()] = true
		}
	}
	return out, nil
}

// RosterSet adds items to owner's roster (subscription none, which the
// user's client may then turn into a subscription). XEP-0356 has the
// component send the roster set itself, addressed to the user's bare JID,
// with no privilege wrapping. Each item goes in an IQ of its own: Prosody's
// mod_privilege answers once per item, so an IQ of several would get
// several answers. Items already in the roster are left as they are (where
// roster get is granted too, to see them). The host must have granted
// roster set in this session (ErrNotGranted otherwise, before anything is
// sent; ErrPermissionsUnknown before its advertisement arrived). Each IQ waits at most
// OwnIQTimeout, as the component's own IQs do: a server that drops them
// must not stall the publisher.
func (c *Component) RosterSet(ctx context.Context, owner jid.JID, items []RosterItem) error {
	owner = owner.Bare()
	host := owner.Domainpart()
	if !c.Connected() {
		return ErrNotConnected
	}
	// The caller waits for the advertisement (WaitPermissions, under its
	// own bound); here it is either known or the set is not sent.
	p, ok := c.Permissions(host)
	if !ok {
		return fmt.Errorf("%w: %s", ErrPermissionsUnknown, host)
	}
	if !p.AllowsRosterSet() {
		return fmt.Errorf("%w: host %s, roster set (roster permission %s)", ErrNotGranted, host, orNone(p.Roster))
	}
	// A contact already there keeps the name its owner gave it: with
	// roster get granted too, read the roster first. Without it, or when
	// the read fails, every item is set.
	var present map[string]bool
	if p.Roster == "both" {
		present, _ = c.rosterJIDs(ctx, owner)
	}
	for _, it := range items {
		if j, err := jid.Parse(it.JID); err == nil && present[j.Bare().String()] {
			continue
		}
		var q rosterQuery
		q.Item.JID, q.Item.Name = it.JID, it.Name
		payload, err := xml.Marshal(q)
		if err != nil {
			return fmt.Errorf("component: roster item %s: %w", it.JID, err)
		}
		if _, err := c.ownIQ(ctx, owner, "set", payload); err != nil {
			var iqErr *IQError
			switch {
			case errors.As(err, &iqErr):
				c.failed(host, ReasonRefused)
			case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
				c.failed(host, ReasonTimeout)
			}
			return fmt.Errorf("component: roster set of %s for %s: %w", it.JID, owner, err)
		}
	}
	return nil
}
