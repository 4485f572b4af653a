package email

import (
	"context"
	"fmt"
	"io"
	"log/slog"

	"mmsprofile/mmsbridge"
)

// Ingest takes one message from an MTA pipe transport (stdin) and returns
// the sysexits code the MTA acts on: ExitOK, ExitDataErr (bounce),
// ExitNoUser (bounce: unknown, unlinked or unauthenticated sender, or not
// our recipient) or ExitTempFail (the MTA retries). err says why.
func Ingest(ctx context.Context, cfg Config, rcv mmsbridge.Receiver, r io.Reader, env Envelope) (exitCode int, err error) {
	return IngestLog(ctx, cfg, rcv, r, env, nil)
}

// IngestLog is Ingest with a logger for the decision.
func IngestLog(ctx context.Context, cfg Config, rcv mmsbridge.Receiver, r io.Reader, env Envelope, log *slog.Logger) (int, error) {
	p, err := newPipeline(cfg, rcv, log)
	if err != nil {
		return ExitTempFail, fmt.Errorf("email: ingest: %w", err)
	}
	raw, err := readLimited(r, p.cfg.MaxMessageBytes)
	if err != nil {
		return outcomeFor(err).exit, fmt.Errorf("email: ingest: %w", err)
	}
	if err := p.deliver(ctx, raw, env); err != nil {
		return outcomeFor(err).exit, fmt.Errorf("email: ingest: %w", err)
	}
	return ExitOK, nil
}
