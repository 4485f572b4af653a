package mm7

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/netip"
	"runtime/trace"
	"time"

	"mmsprofile/mmsbridge"
)

// Config is what the MM7 handler needs to know. Zero values take the
// defaults named on each field.
type Config struct {
	// Username and Password are the HTTP Basic credentials the MMSC sends.
	// Both empty turns Basic auth off, which is allowed only together with
	// AllowedNets; otherwise every request is refused (fail closed).
	Username, Password string
	Realm              string // default "mm7"
	MaxBodyBytes       int64  // default 5 MiB; larger bodies get 413
	MaxMIMEDepth       int    // default 8, the MM7 body counting as 1
	MaxXMLDepth        int    // default 64
	MaxParts           int    // default 64
	MaxTextBytes       int    // default 64 KiB per text part
	DefaultCountryCode string // for numbers without "+", e.g. "1"
	// AllowedNets are the client addresses the MMSC connects from; empty
	// allows any. The TCP peer address is used, never X-Forwarded-For: a
	// proxy in front must do its own filtering.
	AllowedNets []netip.Prefix
	// ReceiveTimeout bounds the Receiver call. MMSCs give up after about
	// ten seconds and retry, so answering 4006 in time is better than
	// answering 1000 too late. Default 8s.
	ReceiveTimeout time.Duration
	// Refused, if set, is told each request turned away before its body
	// was read, with RefusedAuth or RefusedAddress: these never reach the
	// rules, so no MMS counter sees them, yet a run of them is how a
	// changed MMSC password or address shows.
	Refused func(reason string)
}

// Reasons given to Config.Refused.
const (
	RefusedAuth    = "auth"    // Basic credentials missing or wrong
	RefusedAddress = "address" // the client is not in AllowedNets
)

// DefaultReceiveTimeout is Config.ReceiveTimeout's default.
const DefaultReceiveTimeout = 8 * time.Second

// handler serves MM7 requests from an MMSC.
type handler struct {
	cfg      Config
	lim      Limits
	rcv      mmsbridge.Receiver
	log      *slog.Logger
	noAuth   bool
	userHash [sha256.Size]byte
	passHash [sha256.Size]byte
	now      func() time.Time
}

// NewHandler returns the HTTP handler for the MM7 endpoint. Each DeliverReq
// is parsed and given to rcv; the MMSC hears 1000 only once rcv returned
// nil, i.e. once the message is committed. If rcv also implements
// ReportReceiver it is given delivery reports and read replies.
func NewHandler(cfg Config, rcv mmsbridge.Receiver, log *slog.Logger) http.Handler {
	if cfg.Realm == "" {
		cfg.Realm = "mm7"
	}
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultMaxBytes
	}
	if cfg.ReceiveTimeout <= 0 {
		cfg.ReceiveTimeout = DefaultReceiveTimeout
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &handler{
		cfg: cfg,
		lim: Limits{
			MaxBytes:           cfg.MaxBodyBytes,
			MaxMIMEDepth:       cfg.MaxMIMEDepth,
			MaxXMLDepth:        cfg.MaxXMLDepth,
			MaxParts:           cfg.MaxParts,
			MaxTextBytes:       cfg.MaxTextBytes,
			DefaultCountryCode: cfg.DefaultCountryCode,
		}.withDefaults(),
		rcv:      rcv,
		log:      log.With("component", "mm7"),
		noAuth:   cfg.Username == "" && cfg.Password == "" && len(cfg.AllowedNets) > 0,
		userHash: sha256.Sum256([]byte(cfg.Username)),
		passHash: sha256.Sum256([]byte(cfg.Password)),
		now:      time.Now,
	}
	if cfg.Username == "" && cfg.Password == "" && len(cfg.AllowedNets) == 0 {
		h.log.Warn("mm7: no credentials and no allowed networks configured: every request will be refused")
	}
	return h
}

func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "MM7 takes POST only", http.StatusMethodNotAllowed)
		return
	}
	if !h.clientAllowed(r.RemoteAddr) {
		h.log.Warn("mm7: client address not allowed", "remote", r.RemoteAddr)
		h.refused(RefusedAddress)
		http.Error(w, "forbidden", http.StatusForbidden)
		return
	}
	if !h.authorized(r) {
		h.log.Warn("mm7: authentication failed", "remote", r.RemoteAddr)
		h.refused(RefusedAuth)
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", h.cfg.Realm))
		http.Error(w, "unauthorized", http.StatusUnauthorized)
		return
	}
	if r.ContentLength > h.cfg.MaxBodyBytes {
		h.tooLarge(w, r)
		return
	}
	// The body is read whole before parsing: the size limit then shows as
	// one clean 413, and the parser works on bytes it can seek through.
	// One trace task per request: `go tool trace` (and the breakdown in
	// docs/performance.md) then shows where one MMS spends its time.
	ctx, task := trace.NewTask(r.Context(), "mm7")
	defer task.End()
	r = r.WithContext(ctx)
	reading := trace.StartRegion(ctx, "mm7.read")
	body, err := readAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes), r.ContentLength)
	reading.End()
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			h.tooLarge(w, r)
			return
		}
		h.log.Warn("mm7: read request body", "remote", r.RemoteAddr, "err", err)
		http.Error(w, "could not read body", http.StatusBadRequest)
		return
	}
	parsing := trace.StartRegion(ctx, "mm7.parse")
	req, err := parseBytes(r.Header.Get("Content-Type"), body, h.lim)
	parsing.End()
	if err != nil {
		h.refuse(w, r, req, err)
		return
	}
	switch req.Kind {
	case KindDeliverReq:
		h.deliver(w, r, req)
	case KindDeliveryReportReq, KindReadReplyReq:
		h.report(w, r, req)
	default:
		h.log.Warn("mm7: unsupported operation", "remote", r.RemoteAddr, "element", req.Element, "tx", req.TransactionID)
		h.write(w, answer{
			fault:     true,
			element:   "VASPErrorRsp",
			namespace: req.Namespace,
			txID:      req.TransactionID,
			version:   req.MM7Version,
			code:      StatusUnsupportedOperation,
			details:   fmt.Sprintf("%s is not supported by this VASP", req.Element),
		})
	}
}

func (h *handler) refused(reason string) {
	if h.cfg.Refused != nil {
		h.cfg.Refused(reason)
	}
}

func (h *handler) tooLarge(w http.ResponseWriter, r *http.Request) {
	h.log.Warn("mm7: request body too large", "remote", r.RemoteAddr, "limit", h.cfg.MaxBodyBytes)
	http.Error(w, "request body too large", http.StatusRequestEntityTooLarge)
}

// clientAllowed checks the TCP peer against AllowedNets.
func (h *handler) clientAllowed(remote string) bool {
	if len(h.cfg.AllowedNets) == 0 {
		return true
	}
	var addr netip.Addr
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		addr = ap.Addr()
	} else if a, err := netip.ParseAddr(remote); err == nil {
		addr = a
	} else {
		return false
	}
	addr = addr.Unmap()
	for _, p := range h.cfg.AllowedNets {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// authorized checks HTTP Basic credentials in constant time. Hashes are
// compared so neither the length nor a common prefix leaks through timing.
func (h *handler) authorized(r *http.Request) bool {
	if h.noAuth {
		return true
	}
	if h.cfg.Username == "" && h.cfg.Password == "" {
		return false
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	u := sha256.Sum256([]byte(user))
	p := sha256.Sum256([]byte(pass))
	userOK := subtle.ConstantTimeCompare(u[:], h.userHash[:])
	passOK := subtle.ConstantTimeCompare(p[:], h.passHash[:])
	return userOK&passOK == 1
}

// refuse answers a request Parse did not accept. Content refused inside a
// well-formed DeliverReq gets a DeliverRsp (HTTP 200); everything else a
// SOAP Fault (HTTP 500), echoing what could be read of the envelope.
func (h *handler) refuse(w http.ResponseWriter, r *http.Request, req *Request, err error) {
	var e *Error
	if !errors.As(err, &e) {
		e = &Error{Code: StatusValidationError, Detail: "request could not be read", Err: err}
	}
	a := answer{fault: true, element: "VASPErrorRsp", code: e.Code, details: e.Detail}
	if req != nil {
		a.namespace, a.txID, a.version = req.Namespace, req.TransactionID, req.MM7Version
		if e.Code == StatusContentRefused && req.Kind == KindDeliverReq {
			a.fault, a.element = false, "DeliverRsp"
		}
	}
	h.log.Warn("mm7: request refused", "remote", r.RemoteAddr, "tx", a.txID, "status", int(e.Code), "err", err)
	h.write(w, a)
}

// deliver hands a DeliverReq's message to the Receiver and answers with
// what it said.
func (h *handler) deliver(w http.ResponseWriter, r *http.Request, req *Request) {
	msg := req.Message
	if msg.Received.IsZero() {
		// The MMSC's TimeStamp is optional; without it, now is the
		// best approximation of when the user sent it.
		msg.Received = h.now()
	}
	ctx, cancel := h.workContext(r)
	defer cancel()
	receiving := trace.StartRegion(ctx, "mm7.receive")
	err := h.rcv.Receive(ctx, msg)
	receiving.End()
	a := answer{element: "DeliverRsp", namespace: req.Namespace, txID: req.TransactionID, version: req.MM7Version, code: StatusSuccess}
	log := h.log.With("tx", req.TransactionID, "key", msg.Key, "sender", msg.Sender, "parts", len(msg.Parts))
	switch ref, isRefusal := mmsbridge.AsRefusal(err); {
	case err == nil:
		log.Info("mm7: message accepted")
	case isRefusal:
		a.code, a.details = refusalStatus(ref.Reason), ref.Text
		log.Info("mm7: message refused", "status", int(a.code), "reason", ref.Text)
	default:
		a.code, a.details = StatusServiceUnavailable, "temporary failure, retry later"
		log.Error("mm7: receive message", "err", err)
	}
	h.write(w, a)
}

// workContext is what an accepted request's work (commit, answer) runs
// under: the request's values, but not its cancellation. net/http cancels
// r.Context() when the client half-closes its side after the body (curl -T -,
// some proxies and MMSCs do), which would fail a commit the MMSC is still
// waiting to hear about; the body is read whole by now, so only our own
// deadline bounds the work.
func (h *handler) workContext(r *http.Request) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(r.Context()), h.cfg.ReceiveTimeout)
}

// refusalStatus maps a Receiver's refusal onto an MM7 status code.
func refusalStatus(reason mmsbridge.Reason) StatusCode {
	switch reason {
	case mmsbridge.ReasonContent:
		return StatusContentRefused
	case mmsbridge.ReasonUnknownSender:
		return StatusAddressNotFound
	case mmsbridge.ReasonBadSender:
		return StatusAddressError
	case mmsbridge.ReasonDenied:
		return StatusServiceDenied
	case mmsbridge.ReasonBusy:
		return StatusServiceUnavailable
	}
	return StatusClientError
}

// report hands a delivery report or read reply to the Receiver when it
// wants them, and acknowledges it.
func (h *handler) report(w http.ResponseWriter, r *http.Request, req *Request) {
	a := answer{element: req.Kind.rspElement(), namespace: req.Namespace, txID: req.TransactionID, version: req.MM7Version, code: StatusSuccess}
	log := h.log.With("tx", req.TransactionID, "kind", req.Kind.String(), "message_id", req.Report.MessageID, "mm_status", req.Report.MMStatus)
	if rr, ok := h.rcv.(ReportReceiver); ok {
		ctx, cancel := h.workContext(r)
		defer cancel()
		if err := rr.ReceiveReport(ctx, req.Report); err != nil {
			a.code, a.details = StatusServiceUnavailable, "temporary failure, retry later"
			log.Error("mm7: receive report", "err", err)
			h.write(w, a)
			return
		}
	}
	log.Info("mm7: report accepted")
	h.write(w, a)
}

func (h *handler) write(w http.ResponseWriter, a answer) {
	body, err := a.marshal()
	if err != nil {
		h.log.Error("mm7: answer", "err", err)
		http.Error(w, "", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/xml; charset=utf-8")
	w.Header().Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(a.httpStatus())
	if _, err := w.Write(body); err != nil {
		h.log.Debug("mm7: write answer", "err", err)
	}
}
