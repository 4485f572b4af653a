package profile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/trace"
	"strings"
	"time"
	"unicode/utf8"

	"mmsprofile/avatar"
	"mmsprofile/internal/redact"
	"mmsprofile/mmsbridge"
	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/vcard"
)

// Imager brings a picture to the avatar standard.
type Imager interface {
	Make(ctx context.Context, data []byte) (avatar.Image, error)
}

// Rules are the operator's policies.
type Rules struct {
	// Domains whose accounts may be linked.
	Domains            []string
	DefaultCountryCode string
	MaxStatusChars     int
	// ServiceNumber and ServiceEmail are where phones send to; they are
	// named in instructions.
	ServiceNumber string
	ServiceEmail  string
	// Component is the component's JID, named in replies to phones.
	Component       string
	CodeTTL         time.Duration
	CodeDigits      int
	MaxCodeFailures int

	UpdatesPerHour      int
	LinkRequestsPerHour int
	RepliesPerDay       int
}

func (r Rules) withDefaults() Rules {
	if r.MaxStatusChars <= 0 {
		r.MaxStatusChars = 140
	}
	if r.CodeTTL <= 0 {
		r.CodeTTL = 15 * time.Minute
	}
	if r.CodeDigits < 6 || r.CodeDigits > 8 {
		r.CodeDigits = 6
	}
	if r.MaxCodeFailures <= 0 {
		r.MaxCodeFailures = 5
	}
	if r.UpdatesPerHour <= 0 {
		r.UpdatesPerHour = 20
	}
	if r.LinkRequestsPerHour <= 0 {
		r.LinkRequestsPerHour = 5
	}
	if r.RepliesPerDay <= 0 {
		r.RepliesPerDay = 10
	}
	return r
}

// Service turns incoming MMS into committed profile updates, commands and
// replies, and serves the account holder's requests. It is the
// mmsbridge.Receiver both transports hand their messages to.
type Service struct {
	store  Store
	imager Imager
	rules  Rules
	log    *slog.Logger
	now    func() time.Time
}

var _ mmsbridge.Receiver = (*Service)(nil)

// New builds the service. What it commits wakes the publisher through the
// store (storage.Coordinator's Wake), not through the rules.
func New(store Store, imager Imager, rules Rules, log *slog.Logger) *Service {
	return &Service{store: store, imager: imager, rules: rules.withDefaults(), log: log, now: time.Now}
}

// Receive applies one MMS. It returns nil once everything it changes (an
// update, a link, the replies it owes) is committed. Its record in the
// inbound log is committed with the update it makes, when it makes one,
// and on its own otherwise.
func (s *Service) Receive(ctx context.Context, msg *mmsbridge.Message) error {
	rcpt := &receipt{Inbound: storage.Inbound{Source: string(msg.Transport), Key: msg.Key, Sender: msg.Sender, Received: msg.Received}}
	in := &rcpt.Inbound
	if in.Sender == "" {
		in.Sender = msg.SenderRaw
	}
	if in.Received.IsZero() {
		in.Received = s.now()
	}
	err := s.receive(ctx, msg, rcpt)
	switch r, refused := mmsbridge.AsRefusal(err); {
	case err == nil:
		if in.Outcome == "" {
			in.Outcome = "accepted"
		}
	case refused:
		in.Outcome, in.Reason = "refused", r.Text
	default:
		in.Outcome, in.Reason = "failed", err.Error()
	}
	if !rcpt.committed {
		if lerr := s.store.LogInbound(context.WithoutCancel(ctx), *in); lerr != nil {
			s.log.Warn("inbound log", "err", lerr)
		}
	}
	s.log.Info("mms", "transport", in.Source, "key", in.Key, "sender", redact.MaskNumber(in.Sender), "jid", in.JID, "outcome", in.Outcome, "reason", in.Reason)
	return err
}

// receipt is the inbound record of the MMS being received.
type receipt struct {
	storage.Inbound
	// committed: the record went into the inbound log with the update,
	// in its transaction, and is not to be logged again.
	committed bool
}

func (s *Service) receive(ctx context.Context, msg *mmsbridge.Message, r *receipt) error {
	in := &r.Inbound
	// A phone number, or (by mail) a personal address the e-mail bridge
	// has authenticated: someone who mails photos from their phone's mail
	// app links that address the way others link a number.
	if !strings.HasPrefix(msg.Sender, "+") && !(msg.Transport == mmsbridge.TransportEmail && isAddress(msg.Sender)) {
		if msg.SenderRaw == "" {
			return mmsbridge.Refuse(mmsbridge.ReasonBadSender, "the message has no sender number")
		}
		return mmsbridge.Refuse(mmsbridge.ReasonBadSender, "sender %q is not a phone number", msg.SenderRaw)
	}
	if msg.Key == "" {
		return mmsbridge.Refuse(mmsbridge.ReasonContent, "the message carries no identifier")
	}
	link, err := s.store.LinkByNumber(ctx, msg.Sender)
	linked := err == nil
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("profile: look up %s: %w", msg.Sender, err)
	}
	if linked {
		in.JID = link.JID
	}

	cmd, code := parseCommand(msg.Subject, msg.Text())
	switch cmd {
	case cmdLink:
		in.Outcome = "command"
		return s.confirmLink(ctx, msg, code, link, linked, in)
	case cmdStop:
		in.Outcome = "command"
		return s.phoneUnlink(ctx, msg, link, linked)
	case cmdHelp, cmdStart:
		in.Outcome = "command"
		if linked {
			return s.reply(ctx, msg, link.JID, textHelpLinked(link.JID))
		}
		return s.reply(ctx, msg, "", s.textHowToLink())
	}

	if !linked {
		if p, err := s.store.PendingLinkByNumber(ctx, msg.Sender); err == nil && s.now().Before(p.Expires) {
			if err := s.reply(ctx, msg, "", textPendingNeedsCode(p.JID)); err != nil {
				return err
			}
			return mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "number %s is waiting for its link code: send LINK and the code first", msg.Sender)
		}
		if err := s.reply(ctx, msg, "", s.textHowToLink()); err != nil {
			return err
		}
		return mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "number %s is not linked to an XMPP account", msg.Sender)
	}
	return s.update(ctx, msg, link, r)
}

// update applies an MMS from a linked number to its account.
//
// The sender's token for the hourly limit is taken in the update's commit,
// with its inbound record: one transaction for an accepted MMS. A read of
// the bucket first refuses a sender past the limit before any picture is
// decoded; the commit decides, so of two MMS racing for the last token
// one is refused. What is refused for its content (or delivered twice)
// takes its token on its own, as before, so a flood of those is limited
// too.
func (s *Service) update(ctx context.Context, msg *mmsbridge.Message, link storage.Link, r *receipt) error {
	limit := storage.Take{Key: "updates:" + msg.Sender, Rate: perHour(s.rules.UpdatesPerHour), At: s.now()}
	ok, wait, err := s.store.Check(ctx, limit.Key, limit.Rate, limit.At)
	if err != nil {
		return fmt.Errorf("profile: rate limit: %w", err)
	}
	if !ok {
		return s.tooMany(ctx, msg, link.JID, wait)
	}
	prefs, err := s.store.Prefs(ctx, link.JID)
	if err != nil {
		return fmt.Errorf("profile: preferences of %s: %w", link.JID, err)
	}

	u := storage.Update{
		Source:   string(msg.Transport),
		Key:      msg.Key,
		JID:      link.JID,
		Number:   msg.Sender,
		Received: msg.Received,
	}
	if u.Received.IsZero() {
		u.Received = s.now()
	}
	var ignored, notes []string
	// skipped is why no picture could be used, when the MMS had some: the
	// rest is applied all the same and the phone told what would work.
	var skipped *skippedPart
	text, nick, nickNote := splitNick(msg.Text())
	if nickNote != "" {
		notes = append(notes, nickNote)
	}
	own, others, cardNotes := readCards(msg, s.rules.DefaultCountryCode)
	notes = append(notes, cardNotes...)
	images := msg.Images()
	if len(images) == 0 && own != nil && own.Photo != nil && prefs.VCard {
		// The sender's own card carries a picture: it goes through the
		// same standard as an attached photo, never published as it came.
		images = []mmsbridge.Part{{ContentType: own.Photo.Type, Data: own.Photo.Data}}
	}
	if len(images) > 0 {
		if !prefs.Avatar {
			ignored = append(ignored, "pictures")
		} else {
			img, skip, err := s.firstUsableImage(ctx, images)
			if err != nil {
				return err
			}
			if skip == nil {
				u.Avatar = storedAvatar(img)
			} else {
				skipped = skip
			}
		}
	}
	var prof outbox.Change
	if status := cutRunes(cleanText(text), s.rules.MaxStatusChars); status != "" {
		if prefs.Status {
			u.Status, prof.Status = status, &status
		} else {
			ignored = append(ignored, "status text")
		}
	}
	if nick == "" && own != nil && prefs.VCard {
		nick = cutRunes(cleanText(own.Nickname), maxNickChars)
	}
	if nick != "" {
		if prefs.Nick {
			u.Nick, prof.Nick = nick, &nick
		} else {
			ignored = append(ignored, "nicknames")
		}
	}
	if own != nil {
		if prefs.VCard {
			f := own.Fields(func(field string) bool { return field != vcard.FieldPhoto && field != vcard.FieldNickname })
			if fieldsSet(f) {
				prof.VCard = &f
			}
		} else {
			ignored = append(ignored, "contact details")
		}
	}
	if prof.Status != nil || prof.Nick != nil || prof.VCard != nil {
		u.Entries = append(u.Entries, outbox.ChangeEntry(link.JID, prof))
	}
	contacts := false
	if len(others) > 0 {
		if prefs.Contacts {
			found, missing, err := s.suggestContacts(ctx, link.JID, others)
			if err != nil {
				return err
			}
			if text := textContacts(found, missing); text != "" {
				contacts = true
				if prefs.Roster && len(found) > 0 {
					u.Entries = append(u.Entries, outbox.RosterEntry(link.JID, textContactsAdded(found, missing), text, found))
				} else {
					u.Entries = append(u.Entries, outbox.SuggestEntry(link.JID, text, found))
				}
			}
		} else {
			ignored = append(ignored, "address-book entries")
		}
	}
	if len(notes) > 0 {
		s.log.Info("parts of an mms left out", "jid", link.JID, "why", strings.Join(notes, "; "))
	}
	if u.Avatar == nil && u.Status == "" && u.Nick == "" && prof.VCard == nil && !contacts {
		if err := s.spend(ctx, msg, link.JID, limit); err != nil {
			return err
		}
		if skipped != nil {
			// Nothing usable: refused as before, with the picture's reason.
			text := "the picture cannot be used: " + refusalText(skipped.err)
			s.tellRefusal(ctx, msg, link.JID, prefs, text)
			return mmsbridge.Refuse(mmsbridge.ReasonContent, "%s", text)
		}
		if len(ignored) > 0 {
			text := fmt.Sprintf("This account does not take %s by MMS (see its preferences).", strings.Join(ignored, " or "))
			s.tellRefusal(ctx, msg, link.JID, prefs, text)
			return mmsbridge.Refuse(mmsbridge.ReasonDenied, "%s", text)
		}
		return mmsbridge.Refuse(mmsbridge.ReasonContent, "nothing to publish: send a photo or a line of text")
	}
	if skipped != nil {
		notes = append(notes, "the picture was skipped: "+skipped.advice)
		s.log.Info("picture skipped, the rest applied", "jid", link.JID, "why", refusalText(skipped.err))
		// One reply, committed with the update: a duplicate delivery,
		// which commits nothing, sends it no second time.
		e, ok, err := s.replyEntry(ctx, msg, link.JID, textPartial(u, prof.VCard != nil, contacts, skipped.advice))
		if err != nil {
			return err
		}
		if ok {
			u.Entries = append(u.Entries, e)
		}
	}
	if prefs.Notify && (u.Avatar != nil || u.Status != "" || u.Nick != "" || prof.VCard != nil) {
		u.Entries = append(u.Entries, outbox.MessageEntry(link.JID, textUpdated(u, prof.VCard != nil, msg.Sender, notes)))
	}

	rec := r.Inbound
	rec.Outcome = "accepted"
	u.Inbound, u.Limit = &rec, &limit
	committing := trace.StartRegion(ctx, "profile.commit")
	id, err := s.store.CommitUpdate(ctx, u)
	committing.End()
	var limited *storage.LimitError
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		s.log.Debug("duplicate delivery ignored", "jid", link.JID, "key", u.Key, "update", id)
		// As any delivery, it costs the sender a token; it is answered as
		// accepted all the same, for it is committed.
		if _, _, err := s.store.Allow(ctx, limit.Key, limit.Rate, limit.At); err != nil {
			s.log.Warn("rate limit", "err", err)
		}
		return nil
	case errors.As(err, &limited):
		return s.tooMany(ctx, msg, link.JID, limited.Retry)
	case err != nil:
		return fmt.Errorf("profile: commit update for %s: %w", link.JID, err)
	}
	r.committed = true
	return nil
}

// spend takes the sender's token for an MMS that commits no update, and
// refuses it as too many when there is none left.
func (s *Service) spend(ctx context.Context, msg *mmsbridge.Message, jid string, limit storage.Take) error {
	ok, wait, err := s.store.Allow(ctx, limit.Key, limit.Rate, limit.At)
	if err != nil {
		return fmt.Errorf("profile: rate limit: %w", err)
	}
	if !ok {
		return s.tooMany(ctx, msg, jid, wait)
	}
	return nil
}

// tooMany refuses an MMS past the sender's hourly limit, and tells the
// phone when to try again.
func (s *Service) tooMany(ctx context.Context, msg *mmsbridge.Message, jid string, wait time.Duration) error {
	text := fmt.Sprintf("Too many updates from this phone; try again in %s.", roundUp(wait))
	if err := s.reply(ctx, msg, jid, text); err != nil {
		return err
	}
	return mmsbridge.Refuse(mmsbridge.ReasonDenied, "%s", text)
}

// tellRefusal lets both ends know why an MMS from a linked number did not
// change anything. It is best effort: the refusal itself reaches the MMSC.
func (s *Service) tellRefusal(ctx context.Context, msg *mmsbridge.Message, jid string, prefs storage.Prefs, reason string) {
	if err := s.reply(ctx, msg, jid, "Your MMS was not applied: "+reason); err != nil {
		s.log.Warn("reply to phone", "err", err)
	}
	if prefs.Notify {
		body := fmt.Sprintf("An MMS from %s was not applied: %s", FormatNumber(msg.Sender), reason)
		if err := s.store.Enqueue(ctx, outbox.MessageEntry(jid, body)); err != nil {
			s.log.Warn("notify account", "err", err)
		}
	}
}

// reply queues a message back to the phone, within the per-phone daily
// budget: past it the phone hears nothing more from us that day.
func (s *Service) reply(ctx context.Context, msg *mmsbridge.Message, jid, text string) error {
	e, ok, err := s.replyEntry(ctx, msg, jid, text)
	if err != nil || !ok {
		return err
	}
	if err := s.store.Enqueue(ctx, e); err != nil {
		return fmt.Errorf("profile: queue reply: %w", err)
	}
	return nil
}

// replyEntry is the outbox entry of a reply to the phone, through the
// bridge the MMS came in on; ok is false when the day's reply budget is
// spent.
func (s *Service) replyEntry(ctx context.Context, msg *mmsbridge.Message, jid, text string) (e storage.Entry, ok bool, err error) {
	ok, _, err = s.store.Allow(ctx, "replies:"+msg.Sender, perDay(s.rules.RepliesPerDay), s.now())
	if err != nil {
		return storage.Entry{}, false, fmt.Errorf("profile: reply budget: %w", err)
	}
	if !ok {
		s.log.Info("reply budget spent; not replying", "sender", redact.MaskNumber(msg.Sender))
		return storage.Entry{}, false, nil
	}
	r := outbox.Reply{Transport: string(msg.Transport), To: msg.Sender, Text: text, LinkedID: msg.LinkedID, Subject: "mmsprofile"}
	if msg.Transport == mmsbridge.TransportEmail {
		r.To, r.InReplyTo, r.Subject = msg.SenderRaw, msg.MessageID, "Re: "+msg.Subject
	} else if r.LinkedID == "" && msg.Transport == mmsbridge.TransportMM7 {
		// An MM7 reply quotes the MMS it answers. An aggregator's
		// LinkedID is the number to reply from: left empty, the
		// replier falls back to the configured service number.
		r.LinkedID = msg.MessageID
	}
	return outbox.ReplyEntry(jid, r), true, nil
}

// firstUsableImage returns the first picture that passes the avatar
// standard. When none does, skip says why, with the first picture's reason,
// which is the one the sender most likely meant; err is only ctx's.
func (s *Service) firstUsableImage(ctx context.Context, images []mmsbridge.Part) (avatar.Image, *skippedPart, error) {
	var first *skippedPart
	for _, p := range images {
		if p.Missing != nil {
			if first == nil {
				first = skipPicture(p, p.Missing)
			}
			continue
		}
		img, err := s.imager.Make(ctx, p.Data)
		if err == nil {
			return img, nil, nil
		}
		if ctx.Err() != nil {
			return avatar.Image{}, nil, fmt.Errorf("profile: %w", ctx.Err())
		}
		if first == nil {
			first = skipPicture(p, err)
		}
	}
	return avatar.Image{}, first, nil
}

// storedAvatar is img as it is committed: the avatar and its renditions,
// which are stored in the same transaction so that their URLs work as
// soon as the metadata naming them is published.
func storedAvatar(img avatar.Image) *storage.Avatar {
	a := &storage.Avatar{ID: img.ID, Type: img.Type, Width: img.Width, Height: img.Height, Data: img.Data}
	for _, r := range img.Renditions {
		a.Renditions = append(a.Renditions, storage.Rendition{
			ID: r.ID, Type: r.Type, Width: r.Width, Height: r.Height, Bytes: len(r.Data), Data: r.Data,
		})
	}
	return a
}

// refusalText strips the package prefixes from an avatar error so the
// phone user reads the reason, not our call chain.
func refusalText(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, "avatar: "); i >= 0 {
		msg = msg[i+len("avatar: "):]
	}
	return msg
}

// cleanText makes one status line: control characters out, white space
// folded.
func cleanText(s string) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) {
			return ' '
		}
		return r
	}, s)
	return strings.Join(strings.Fields(s), " ")
}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}

func perHour(n int) storage.Rate { return storage.Rate{Per: time.Hour / time.Duration(n), Burst: n} }
func perDay(n int) storage.Rate {
	return storage.Rate{Per: 24 * time.Hour / time.Duration(n), Burst: n}
}

func roundUp(d time.Duration) time.Duration {
	if d < time.Minute {
		return time.Minute
	}
	return d.Round(time.Minute)
}
