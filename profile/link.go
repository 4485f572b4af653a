package profile

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/redact"
	"mmsprofile/mmsbridge"
	"mmsprofile/outbox"
	"mmsprofile/storage"
)

// UserError is a refusal the account holder reads as it is.
type UserError struct{ Text string }

func (e *UserError) Error() string { return e.Text }

func userErr(format string, args ...any) error {
	return &UserError{Text: fmt.Sprintf(format, args...)}
}

// Instructions tell the account holder how to finish linking.
type Instructions struct {
	Number  string
	Code    string
	Expires time.Time
	Text    string
}

// RequestLink starts linking number to account: the account has proved
// itself by asking over XMPP; the phone proves itself by sending the code.
func (s *Service) RequestLink(ctx context.Context, account, rawNumber string) (Instructions, error) {
	owner, err := s.checkAccount(account)
	if err != nil {
		return Instructions{}, err
	}
	number, err := mmsbridge.NormalizeNumber(rawNumber, s.rules.DefaultCountryCode)
	if err != nil && strings.Contains(rawNumber, "@") {
		if s.rules.ServiceEmail == "" {
			return Instructions{}, userErr("This service takes pictures by MMS only; link a phone number, e.g. +12025550143.")
		}
		number = strings.ToLower(strings.TrimSpace(rawNumber))
		if !isAddress(number) {
			return Instructions{}, userErr("%q is not an e-mail address.", rawNumber)
		}
		err = nil
	}
	if err != nil {
		return Instructions{}, userErr("%q is not a phone number. Write it in international form, e.g. +12025550143.", rawNumber)
	}
	switch l, err := s.store.LinkByNumber(ctx, number); {
	case err == nil && l.JID == owner:
		return Instructions{}, userErr("%s is already linked to this account.", FormatNumber(number))
	case err == nil:
		return Instructions{}, userErr("%s is linked to another account. It has to be unlinked there first (or by the service operator).", FormatNumber(number))
	case !errors.Is(err, storage.ErrNotFound):
		return Instructions{}, fmt.Errorf("profile: look up %s: %w", number, err)
	}
	ok, wait, err := s.store.Allow(ctx, "linkreq:"+owner, perHour(s.rules.LinkRequestsPerHour), s.now())
	if err != nil {
		return Instructions{}, fmt.Errorf("profile: rate limit: %w", err)
	}
	if !ok {
		return Instructions{}, userErr("Too many link requests from this account; try again in %s.", roundUp(wait))
	}
	code, err := newCode(s.rules.CodeDigits)
	if err != nil {
		return Instructions{}, fmt.Errorf("profile: link code: %w", err)
	}
	now := s.now()
	p := storage.PendingLink{JID: owner, Number: number, CodeHash: hashCode(owner, number, code), Created: now, Expires: now.Add(s.rules.CodeTTL)}
	if _, err := s.store.PutPendingLink(ctx, p); err != nil {
		return Instructions{}, fmt.Errorf("profile: store pending link: %w", err)
	}
	s.log.Info("link requested", "jid", owner, "number", redact.MaskNumber(number))
	return Instructions{Number: number, Code: code, Expires: p.Expires, Text: s.textInstructions(number, code)}, nil
}

// checkAccount accepts only bare JIDs of the configured domains.
func (s *Service) checkAccount(account string) (string, error) {
	j, err := jid.Parse(account)
	if err != nil || j.Localpart() == "" {
		return "", userErr("%q is not an account address.", account)
	}
	j = j.Bare()
	for _, d := range s.rules.Domains {
		if strings.EqualFold(d, j.Domainpart()) {
			return j.String(), nil
		}
	}
	return "", userErr("Accounts on %s cannot be linked here; this service serves %s.", j.Domainpart(), strings.Join(s.rules.Domains, ", "))
}

// Unlink removes every number of account and any pending link.
func (s *Service) Unlink(ctx context.Context, account string) ([]storage.Link, error) {
	owner, err := s.checkAccount(account)
	if err != nil {
		return nil, err
	}
	if err := s.store.DeletePendingLink(ctx, owner); err != nil {
		return nil, fmt.Errorf("profile: drop pending link: %w", err)
	}
	gone, err := s.store.RemoveLinks(ctx, owner, "xmpp:"+owner)
	if err != nil {
		return nil, fmt.Errorf("profile: unlink %s: %w", owner, err)
	}
	return gone, nil
}

// LinkState is what "My link" shows.
type LinkState struct {
	Links   []storage.Link
	Pending *storage.PendingLink
	Recent  []storage.UpdateRecord
	Prefs   storage.Prefs
}

// MyLink returns the account's links, pending link, latest updates and
// preferences.
func (s *Service) MyLink(ctx context.Context, account string) (LinkState, error) {
	owner, err := s.checkAccount(account)
	if err != nil {
		return LinkState{}, err
	}
	var st LinkState
	if st.Links, err = s.store.Links(ctx, storage.LinkFilter{JID: owner}); err != nil {
		return LinkState{}, fmt.Errorf("profile: links: %w", err)
	}
	// The filter matches substrings; keep this account's own.
	mine := st.Links[:0]
	for _, l := range st.Links {
		if l.JID == owner {
			mine = append(mine, l)
		}
	}
	st.Links = mine
	if p, err := s.store.PendingLink(ctx, owner); err == nil && s.now().Before(p.Expires) {
		st.Pending = &p
	} else if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return LinkState{}, fmt.Errorf("profile: pending link: %w", err)
	}
	if st.Recent, err = s.store.RecentUpdates(ctx, owner, 5); err != nil {
		return LinkState{}, fmt.Errorf("profile: recent updates: %w", err)
	}
	if st.Prefs, err = s.store.Prefs(ctx, owner); err != nil {
		return LinkState{}, fmt.Errorf("profile: preferences: %w", err)
	}
	return st, nil
}

// Prefs returns the account's preferences.
func (s *Service) Prefs(ctx context.Context, account string) (storage.Prefs, error) {
	owner, err := s.checkAccount(account)
	if err != nil {
		return storage.Prefs{}, err
	}
	return s.store.Prefs(ctx, owner)
}

// SetPrefs stores the account's preferences.
func (s *Service) SetPrefs(ctx context.Context, account string, p storage.Prefs) error {
	owner, err := s.checkAccount(account)
	if err != nil {
		return err
	}
	return s.store.SetPrefs(ctx, owner, p)
}

// confirmLink handles "LINK 123456" from a phone.
func (s *Service) confirmLink(ctx context.Context, msg *mmsbridge.Message, code string, link storage.Link, linked bool, in *storage.Inbound) error {
	if linked {
		return s.reply(ctx, msg, link.JID, fmt.Sprintf("This phone is already linked to %s.", link.JID))
	}
	// Every attempt counts against the number, so guessing from one phone
	// is as slow as the failure limit says, whatever the pending link.
	ok, wait, err := s.store.Allow(ctx, "linkcode:"+msg.Sender, perHour(s.rules.MaxCodeFailures), s.now())
	if err != nil {
		return fmt.Errorf("profile: rate limit: %w", err)
	}
	if !ok {
		return s.reply(ctx, msg, "", fmt.Sprintf("Too many codes from this phone; try again in %s.", roundUp(wait)))
	}
	p, err := s.store.PendingLinkByNumber(ctx, msg.Sender)
	if errors.Is(err, storage.ErrNotFound) {
		return s.reply(ctx, msg, "", "There is no link request for this phone. "+s.textAskFirst())
	}
	if err != nil {
		return fmt.Errorf("profile: pending link: %w", err)
	}
	in.JID = p.JID
	if !s.now().Before(p.Expires) {
		if err := s.store.DeletePendingLink(ctx, p.JID); err != nil {
			return fmt.Errorf("profile: drop expired link: %w", err)
		}
		return s.reply(ctx, msg, "", "That code has expired. "+s.textAskFirst())
	}
	if !codeMatches(p.CodeHash, p.JID, p.Number, code) {
		n, err := s.store.PendingLinkFailed(ctx, p.ID)
		if err != nil {
			return fmt.Errorf("profile: count wrong code: %w", err)
		}
		if n >= s.rules.MaxCodeFailures {
			if err := s.store.DeletePendingLink(ctx, p.JID); err != nil {
				return fmt.Errorf("profile: drop pending link: %w", err)
			}
			if err := s.store.Enqueue(ctx, outbox.MessageEntry(p.JID, fmt.Sprintf(
				"Linking %s was cancelled after %d wrong codes. Ask for a new code if it was you.", FormatNumber(p.Number), n))); err != nil {
				return fmt.Errorf("profile: notify account: %w", err)
			}
			return s.reply(ctx, msg, "", "Too many wrong codes: the link request is cancelled. "+s.textAskFirst())
		}
		return s.reply(ctx, msg, "", fmt.Sprintf("That code is not right; %d tries left.", s.rules.MaxCodeFailures-n))
	}
	l, err := s.store.ConfirmPendingLink(ctx, p.ID, "phone:"+msg.Sender)
	if errors.Is(err, storage.ErrConflict) {
		return s.reply(ctx, msg, "", "This phone is linked to another account; unlink it there first.")
	}
	if err != nil {
		return fmt.Errorf("profile: confirm link: %w", err)
	}
	s.log.Info("link confirmed", "jid", l.JID, "number", redact.MaskNumber(l.Number))
	if err := s.store.Enqueue(ctx, outbox.MessageEntry(l.JID, fmt.Sprintf(
		"%s is now linked to this account. A photo sent from it becomes your avatar, its text your status.", FormatNumber(l.Number)))); err != nil {
		return fmt.Errorf("profile: notify account: %w", err)
	}
	return s.reply(ctx, msg, l.JID, fmt.Sprintf("Linked to %s. Send a photo to set your picture, a line of text to set your status; STOP to unlink.", l.JID))
}

// phoneUnlink handles STOP/UNLINK from a phone.
func (s *Service) phoneUnlink(ctx context.Context, msg *mmsbridge.Message, link storage.Link, linked bool) error {
	if !linked {
		return s.reply(ctx, msg, "", "This phone is not linked to any account.")
	}
	if _, err := s.store.RemoveLinks(ctx, msg.Sender, "phone:"+msg.Sender); err != nil {
		return fmt.Errorf("profile: unlink %s: %w", redact.MaskNumber(msg.Sender), err)
	}
	if err := s.store.Enqueue(ctx, outbox.MessageEntry(link.JID, fmt.Sprintf(
		"%s unlinked itself from this account (STOP sent from the phone).", FormatNumber(msg.Sender)))); err != nil {
		return fmt.Errorf("profile: notify account: %w", err)
	}
	return s.reply(ctx, msg, "", fmt.Sprintf("This phone is no longer linked to %s. Nothing more will be published.", link.JID))
}
