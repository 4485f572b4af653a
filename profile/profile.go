package profile

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"

	"mmsprofile/avatar"
	"mmsprofile/mmsbridge"
	"mmsprofile/storage"
)

// Imager brings a picture to the avatar standard.
type Imager interface {
	Make(ctx context.Context, data []byte) (avatar.Image, error)
}

// Store is the part of storage.Store the rules need.
type Store interface {
	LinkByNumber(ctx context.Context, number string) (storage.Link, error)
	CommitUpdate(ctx context.Context, u storage.Update) (int64, error)
}

// Rules are the policies applied to each MMS.
type Rules struct {
	MaxStatusChars int
}

// Service turns an incoming MMS into a committed profile update. It is the
// mmsbridge.Receiver both transports hand their messages to.
type Service struct {
	store  Store
	imager Imager
	rules  Rules
	log    *slog.Logger
	// committed is told after each new commit, so the publisher can start
	// at once instead of waiting for its next poll.
	committed func()
	now       func() time.Time
}

var _ mmsbridge.Receiver = (*Service)(nil)

// New builds the service. committed may be nil.
func New(store Store, imager Imager, rules Rules, committed func(), log *slog.Logger) *Service {
	if rules.MaxStatusChars <= 0 {
		rules.MaxStatusChars = 140
	}
	if committed == nil {
		committed = func() {}
	}
	return &Service{store: store, imager: imager, rules: rules, log: log, committed: committed, now: time.Now}
}

// Receive applies one MMS. It returns nil once the update is committed (or
// was committed by an earlier delivery of the same message).
func (s *Service) Receive(ctx context.Context, msg *mmsbridge.Message) error {
	if !strings.HasPrefix(msg.Sender, "+") {
		if msg.SenderRaw == "" {
			return mmsbridge.Refuse(mmsbridge.ReasonBadSender, "the message has no sender number")
		}
		return mmsbridge.Refuse(mmsbridge.ReasonBadSender, "sender %q is not a phone number", msg.SenderRaw)
	}
	link, err := s.store.LinkByNumber(ctx, msg.Sender)
	if errors.Is(err, storage.ErrNotFound) {
		return mmsbridge.Refuse(mmsbridge.ReasonUnknownSender, "number %s is not linked to an XMPP account", msg.Sender)
	}
	if err != nil {
		return fmt.Errorf("profile: look up %s: %w", msg.Sender, err)
	}

	u := storage.Update{
		Source:   string(msg.Transport),
		Key:      msg.Key,
		JID:      link.JID,
		Number:   msg.Sender,
		Status:   cutRunes(oneLine(msg.Text()), s.rules.MaxStatusChars),
		Received: msg.Received,
	}
	if u.Received.IsZero() {
		u.Received = s.now()
	}
	if u.Key == "" {
		return mmsbridge.Refuse(mmsbridge.ReasonContent, "the message carries no identifier")
	}

	images := msg.Images()
	if len(images) > 0 {
		img, err := s.firstUsableImage(ctx, images)
		if err != nil {
			return err
		}
		u.Avatar = &storage.Avatar{ID: img.ID, Type: img.Type, Width: img.Width, Height: img.Height, Data: img.Data}
	}
	if u.Avatar == nil && u.Status == "" {
		return mmsbridge.Refuse(mmsbridge.ReasonContent, "nothing to publish: send a photo or a line of text")
	}

	id, err := s.store.CommitUpdate(ctx, u)
	switch {
	case errors.Is(err, storage.ErrDuplicate):
		s.log.Info("duplicate delivery ignored", "jid", link.JID, "key", u.Key, "update", id)
		return nil
	case err != nil:
		return fmt.Errorf("profile: commit update for %s: %w", link.JID, err)
	}
	s.log.Info("update committed", "jid", link.JID, "update", id, "avatar", u.Avatar != nil, "status_chars", utf8.RuneCountInString(u.Status))
	s.committed()
	return nil
}

// firstUsableImage returns the first picture that passes the avatar
// standard. When none does, the refusal carries the first picture's reason,
// which is the one the sender most likely meant.
func (s *Service) firstUsableImage(ctx context.Context, images []mmsbridge.Part) (avatar.Image, error) {
	var firstErr error
	for _, p := range images {
		img, err := s.imager.Make(ctx, p.Data)
		if err == nil {
			return img, nil
		}
		if ctx.Err() != nil {
			return avatar.Image{}, fmt.Errorf("profile: %w", ctx.Err())
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	return avatar.Image{}, mmsbridge.Refuse(mmsbridge.ReasonContent, "the picture cannot be used: %s", refusalText(firstErr))
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

func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

func cutRunes(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimSpace(string(r[:n-1])) + "…"
}
