package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"mmsprofile/internal/redact"
	"mmsprofile/mmsbridge"
	"mmsprofile/mmsbridge/mm7"
	"mmsprofile/storage"
)

// mm7Receiver hands DeliverReqs to the rules and records delivery reports
// and read replies in the inbound log under the MessageID the MMSC gave
// our reply (see recordReply), so an operator can follow a reply to the
// phone from SubmitReq to its report.
type mm7Receiver struct {
	mmsbridge.Receiver
	store storage.InboundLog
	log   *slog.Logger
}

var _ mm7.ReportReceiver = mm7Receiver{}

// ReceiveReport records one DeliveryReportReq or ReadReplyReq.
func (r mm7Receiver) ReceiveReport(ctx context.Context, rep *mm7.Report) error {
	reason := strings.TrimSpace(rep.MMStatus + " " + rep.StatusText)
	err := r.store.LogInbound(ctx, storage.Inbound{
		Source:   "mm7-" + strings.ToLower(rep.Kind.String()),
		Key:      rep.MessageID,
		Sender:   rep.Recipient,
		Outcome:  "report",
		Reason:   reason,
		Received: rep.Date,
	})
	if err != nil {
		return fmt.Errorf("server: record %s for %s: %w", rep.Kind, rep.MessageID, err)
	}
	r.log.Info("mm7 report", "kind", rep.Kind.String(), "message_id", rep.MessageID, "to", redact.MaskNumber(rep.Recipient), "status", reason)
	return nil
}

// recordReply notes a reply the MMSC took, under its MessageID, for the
// reports that will name it.
func recordReply(ctx context.Context, store storage.InboundLog, to, messageID string) error {
	return store.LogInbound(ctx, storage.Inbound{Source: "mm7-reply", Key: messageID, Sender: to, Outcome: "sent"})
}
