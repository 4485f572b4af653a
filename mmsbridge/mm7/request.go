package mm7

import (
	"context"
	"strings"
	"time"

	"mmsprofile/mmsbridge"
)

// NSEnvelope is the SOAP 1.1 envelope namespace MM7 uses.
const NSEnvelope = "http://schemas.xmlsoap.org/soap/envelope/"

// NSPrefix starts every MM7 schema namespace
// (…/REL-5-MM7-1-0 … REL-6-MM7-1-4 and later).
const NSPrefix = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/"

// NSDefault is the namespace answers use when the request's own could not
// be read (an unparseable body): the newest one seen in the field.
const NSDefault = NSPrefix + "REL-6-MM7-1-4"

// Kind is which MM7 operation a request asks for.
type Kind int

// The request kinds. KindOther is any other element in the SOAP Body
// (CancelReq, a SubmitReq sent to the wrong side, a Fault…).
const (
	KindOther Kind = iota
	KindDeliverReq
	KindDeliveryReportReq
	KindReadReplyReq
)

func (k Kind) String() string {
	switch k {
	case KindDeliverReq:
		return "DeliverReq"
	case KindDeliveryReportReq:
		return "DeliveryReportReq"
	case KindReadReplyReq:
		return "ReadReplyReq"
	}
	return "other"
}

// rspElement is the answer element for a request kind.
func (k Kind) rspElement() string {
	switch k {
	case KindDeliveryReportReq:
		return "DeliveryReportRsp"
	case KindReadReplyReq:
		return "ReadReplyRsp"
	}
	return "DeliverRsp"
}

// Request is one MM7 request as received.
type Request struct {
	Kind Kind
	// Element is the local name of the SOAP Body's request element, as
	// received ("DeliverReq", "CancelReq", "Fault"…).
	Element string
	// Namespace is the MM7 namespace of the request element (answers go
	// out in it); EnvelopePrefix is the SOAP envelope prefix the MMSC used.
	Namespace      string
	EnvelopePrefix string
	TransactionID  string
	MM7Version     string

	// Message is set for a DeliverReq.
	Message *mmsbridge.Message
	// SenderType is the element that held the sender: "Number",
	// "ShortCode", "RFC2822Address", or "" for a bare value or none.
	SenderType string
	Priority   string
	VASPID     string
	VASID      string

	// Report is set for a DeliveryReportReq or ReadReplyReq.
	Report *Report
}

// Report is a DeliveryReportReq or ReadReplyReq: what became of a message
// this VASP sent earlier with SubmitReq.
type Report struct {
	Kind          Kind
	TransactionID string
	RelayServerID string
	MessageID     string
	// Recipient is the phone the message went to (E.164 when a number);
	// Sender is who sent it (usually our own short code).
	Recipient string
	Sender    string
	Date      time.Time
	// MMStatus is the outcome: Retrieved, Expired, Rejected… for delivery
	// reports; Read, Deleted, Indeterminate for read replies.
	MMStatus   string
	StatusText string
}

// ReportReceiver is implemented by a Receiver that wants delivery reports
// and read replies. A nil error acknowledges the report; any error asks the
// MMSC to send it again later.
type ReportReceiver interface {
	ReceiveReport(ctx context.Context, rep *Report) error
}

// Limits bound what Parse accepts from a request. Zero fields take the
// defaults below.
type Limits struct {
	MaxBytes       int64 // whole body; default 5 MiB
	MaxMIMEDepth   int   // multipart nesting, the MM7 body counting as 1; default 8
	MaxXMLDepth    int   // element nesting in the SOAP envelope; default 64
	MaxXMLElements int   // elements in the SOAP envelope; default 4096
	MaxXMLAttrs    int   // attributes on one element; default 64
	MaxXMLText     int   // text in one element; default 64 KiB
	MaxParts       int   // MIME parts in all; default 64
	MaxTextBytes   int   // one text/plain or text/html part; default 64 KiB

	// DefaultCountryCode is not a limit but how numbers are read: it goes
	// in front of numbers written without "+" or "00" (see
	// mmsbridge.NormalizeNumber). It lives here so that Parse keeps a
	// single settings argument.
	DefaultCountryCode string
}

// Defaults for Limits and Config.
const (
	DefaultMaxBytes       = 5 << 20
	DefaultMaxMIMEDepth   = 8
	DefaultMaxXMLDepth    = 64
	DefaultMaxXMLElements = 4096
	DefaultMaxXMLAttrs    = 64
	DefaultMaxXMLText     = 64 << 10
	DefaultMaxParts       = 64
	DefaultMaxTextBytes   = 64 << 10
)

func (l Limits) withDefaults() Limits {
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultMaxBytes
	}
	if l.MaxMIMEDepth <= 0 {
		l.MaxMIMEDepth = DefaultMaxMIMEDepth
	}
	if l.MaxXMLDepth <= 0 {
		l.MaxXMLDepth = DefaultMaxXMLDepth
	}
	if l.MaxXMLElements <= 0 {
		l.MaxXMLElements = DefaultMaxXMLElements
	}
	if l.MaxXMLAttrs <= 0 {
		l.MaxXMLAttrs = DefaultMaxXMLAttrs
	}
	if l.MaxXMLText <= 0 {
		l.MaxXMLText = DefaultMaxXMLText
	}
	if l.MaxParts <= 0 {
		l.MaxParts = DefaultMaxParts
	}
	if l.MaxTextBytes <= 0 {
		l.MaxTextBytes = DefaultMaxTextBytes
	}
	return l
}

// isMM7Namespace reports whether ns may be an MM7 schema namespace. Any
// 3GPP 23.140 schema URI counts (captures carry typos such as
// REL-6-MM7-6-7); so does none at all, which sloppy MMSCs send.
func isMM7Namespace(ns string) bool {
	return ns == "" || strings.HasPrefix(ns, NSPrefix) || strings.Contains(strings.ToUpper(ns), "MM7")
}
