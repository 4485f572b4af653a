package email

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"mmsprofile/mmsbridge"
)

// pipeline is the one path every door (LMTP, SMTP, pipe) feeds: extract,
// authenticate, resolve the sender, hand to the Receiver.
type pipeline struct {
	cfg Config
	tab *carrierTable
	rcv mmsbridge.Receiver
	log *slog.Logger
	now func() time.Time
}

func newPipeline(cfg Config, rcv mmsbridge.Receiver, log *slog.Logger) (*pipeline, error) {
	cfg = cfg.withDefaults()
	tab, err := compileCarriers(MergeCarriers(DefaultCarriers(), cfg.Carriers))
	if err != nil {
		return nil, err
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &pipeline{cfg: cfg, tab: tab, rcv: rcv, log: log, now: time.Now}, nil
}

// deliver takes one message end to end. It returns nil only after the
// Receiver committed it; the error otherwise decides the peer's answer
// through outcomeFor.
func (p *pipeline) deliver(ctx context.Context, raw []byte, env Envelope) error {
	log := p.log.With("mail_from", env.From, "client", env.RemoteIP.String())
	for _, rcpt := range env.To {
		if !p.cfg.acceptsRecipient(rcpt) {
			log.Info("email refused", "rcpt", rcpt, "why", "recipient")
			return fmt.Errorf("email: rcpt %s: %w", rcpt, ErrRecipient)
		}
	}
	x, err := extract(raw, p.cfg.Limits(), p.tab, p.cfg.DefaultCountryCode)
	if err != nil {
		log.Info("email refused", "why", "content", "err", err)
		return err
	}
	msg := x.msg
	log = log.With("key", msg.Key, "from", msg.SenderRaw, "message_id", msg.MessageID)
	how, err := p.authenticate(ctx, raw, x, env)
	if err != nil {
		log.Warn("email refused", "why", "authentication", "err", err)
		return fmt.Errorf("email: from %s: %w", msg.SenderRaw, err)
	}
	if msg.Received.IsZero() || msg.Received.After(p.now()) {
		msg.Received = p.now()
	}
	rctx, cancel := context.WithTimeout(ctx, p.cfg.ReceiveTimeout)
	defer cancel()
	if err := p.rcv.Receive(rctx, msg); err != nil {
		o := outcomeFor(err)
		log.Info("email not accepted", "auth", how, "sender", msg.Sender, "code", o.smtp.Code, "err", err)
		return fmt.Errorf("email: from %s: %w", msg.Sender, err)
	}
	log.Info("email accepted", "auth", how, "sender", msg.Sender, "parts", len(msg.Parts))
	return nil
}
