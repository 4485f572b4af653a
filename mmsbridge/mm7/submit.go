package mm7

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"mmsprofile/internal/backoff"
)

// SubmitConfig is what the SubmitReq client needs to reach the MMSC. Zero
// values take the defaults named on each field.
type SubmitConfig struct {
	// URL is the MMSC's MM7 endpoint (http or https).
	URL string
	// Username and Password are the HTTP Basic credentials of this VASP
	// at the MMSC. Both empty sends no Authorization (IP allowlisting).
	Username, Password string
	// VASPID, VASID and SenderAddress fill SenderIdentification.
	// SenderAddress is our short code or number: "+…" is sent as a
	// Number, digits only as a ShortCode, "…@…" as an RFC2822Address.
	VASPID, VASID, SenderAddress string
	// ServiceCode, when set, is sent for the MMSC's charging records.
	ServiceCode string
	// Namespace is the MM7 schema namespace (default NSDefault,
	// REL-6-MM7-1-4); MM7Version defaults to the version that release's
	// schema pins (6.8.0 for REL-6, 5.3.0 for REL-5). A version of another
	// release than the namespace is refused: MMSCs answer it with 4002.
	Namespace  string
	MM7Version string
	// Timeout bounds one attempt, answer included; default 10s.
	Timeout time.Duration
	// Retries is how many times a temporary failure (4006, 3xxx, HTTP 5xx,
	// timeouts, connection errors) is tried again: default 3; negative
	// means never. RetryMin and RetryMax bound the backoff between
	// attempts (defaults 1s and 30s).
	Retries            int
	RetryMin, RetryMax time.Duration
	// MaxResponseBytes bounds the answer read; default 64 KiB (a SubmitRsp
	// is under 1 KiB).
	MaxResponseBytes int64
	// HTTP is the client to use; default one that does not follow
	// redirects. Its own Timeout, if any, applies on top of Timeout.
	HTTP *http.Client
}

// Defaults for SubmitConfig.
const (
	DefaultSubmitTimeout     = 10 * time.Second
	DefaultSubmitRetries     = 3
	DefaultSubmitRetryMin    = time.Second
	DefaultSubmitRetryMax    = 30 * time.Second
	DefaultMaxResponseBytes  = 64 << 10
	maxSubmitResponseElement = 1024 // elements in an answer envelope
)

// Submission is one message to a phone.
type Submission struct {
	// To is the recipient: E.164 ("+12025550143") or a short code.
	To string
	// Subject and Text are the message; Text goes out as text/plain UTF-8.
	Subject, Text string
	// LinkedID is the DeliverReq's LinkedID when this answers an MMS the
	// phone sent: MMSCs use it to charge the reply as part of that
	// exchange (often free for the user) and some refuse replies without.
	LinkedID string
	// Image is an optional picture of ImageType (image/jpeg, image/png…;
	// sniffed when empty).
	Image     []byte
	ImageType string
	// DeliveryReport asks the MMSC for a DeliveryReportReq later.
	DeliveryReport bool
}

// SubmitResult is what the MMSC said about a Submission.
type SubmitResult struct {
	// MessageID is the MMSC's id for the message; delivery reports and
	// read replies quote it.
	MessageID  string
	Status     StatusCode
	StatusText string
	// Attempts is how many requests were sent, retries included.
	Attempts int
}

// SubmitError is a Submission the MMSC did not take, or that never
// reached it.
type SubmitError struct {
	// Status is the MM7 status the MMSC answered with, or 0 when it gave
	// none (transport error, HTTP error page, unreadable answer).
	Status StatusCode
	// Text is the MMSC's StatusText and Details, or what went wrong.
	Text string
	// HTTPStatus is the answer's HTTP status, 0 when there was no answer.
	HTTPStatus int
	// Temporary reports whether sending again later may succeed.
	Temporary bool
	// Err is the underlying cause, if any (a transport or context error).
	Err error
}

func (e *SubmitError) Error() string {
	var b strings.Builder
	switch {
	case e.Status != 0:
		fmt.Fprintf(&b, "MMSC answered %d %s", int(e.Status), e.Status.Text())
	case e.HTTPStatus != 0:
		fmt.Fprintf(&b, "MMSC answered HTTP %d", e.HTTPStatus)
	default:
		b.WriteString("no answer from MMSC")
	}
	if e.Text != "" {
		b.WriteString(": " + e.Text)
	}
	if e.Err != nil {
		b.WriteString(": " + e.Err.Error())
	}
	if e.Temporary {
		b.WriteString(" (temporary)")
	}
	return b.String()
}

func (e *SubmitError) Unwrap() error { return e.Err }

// ErrBadSubmission marks a Submission that cannot be sent as it is (no
// recipient, nothing to send, an image that is not one). It is never
// retried.
var ErrBadSubmission = errors.New("submission not valid")

// Submitter sends SubmitReq to one MMSC. It is safe for concurrent use.
type Submitter struct {
	cfg    SubmitConfig
	client *http.Client
	log    *slog.Logger
	// now and sleep are replaced in tests; sleep returns early with the
	// context's error.
	now   func() time.Time
	sleep func(ctx context.Context, d time.Duration) error
}

// NewSubmitter checks cfg and returns a Submitter for it.
func NewSubmitter(cfg SubmitConfig, log *slog.Logger) (*Submitter, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mm7: submit URL %q: want http(s)://host/path", cfg.URL)
	}
	if strings.Contains(cfg.Username, ":") {
		// HTTP Basic cannot carry it: the MMSC would split the name there.
		return nil, errors.New("mm7: submit username must not contain ':'")
	}
	if cfg.Namespace == "" {
		cfg.Namespace = NSDefault
	}
	if !strings.HasPrefix(cfg.Namespace, NSPrefix) {
		return nil, fmt.Errorf("mm7: submit namespace %q is not a 3GPP MM7 schema namespace (%s…)", cfg.Namespace, NSPrefix)
	}
	if cfg.MM7Version == "" {
		cfg.MM7Version = defaultVersion(cfg.Namespace)
	}
	if err := checkVersion(cfg.Namespace, cfg.MM7Version); err != nil {
		return nil, fmt.Errorf("mm7: submit: %w", err)
	}
	if cfg.SenderAddress != "" {
		if _, err := addressElement(cfg.SenderAddress); err != nil {
			return nil, fmt.Errorf("mm7: submit sender address: %w", err)
		}
	}
	switch {
	case cfg.Timeout < 0, cfg.RetryMin < 0, cfg.RetryMax < 0, cfg.MaxResponseBytes < 0:
		return nil, errors.New("mm7: submit timeouts, backoff and sizes must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultSubmitTimeout
	}
	if cfg.Retries == 0 {
		cfg.Retries = DefaultSubmitRetries
	} else if cfg.Retries < 0 {
		cfg.Retries = 0
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = DefaultSubmitRetryMin
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = max(DefaultSubmitRetryMax, cfg.RetryMin)
	}
	if cfg.RetryMax < cfg.RetryMin {
		return nil, fmt.Errorf("mm7: submit RetryMax %v is below RetryMin %v", cfg.RetryMax, cfg.RetryMin)
	}
	if cfg.MaxResponseBytes == 0 {
		cfg.MaxResponseBytes = DefaultMaxResponseBytes
	}
	client := cfg.HTTP
	if client == nil {
		client = &http.Client{
			Transport: http.DefaultTransport.(*http.Transport).Clone(),
			// A redirected POST turns into a GET (301/302) or resends the
			// credentials elsewhere (307/308): an MMSC endpoint that
			// redirects is misconfigured, and the 3xx is reported as is.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	log = log.With("component", "mm7-submit")
	if u.Scheme == "http" && cfg.Username != "" {
		log.Warn("mm7: submit credentials will cross the network in clear text; use https or a private link", "url", u.Redacted())
	}
	return &Submitter{
		cfg:    cfg,
		client: client,
		log:    log,
		now:    time.Now,
		sleep:  sleepCtx,
	}, nil
}

// checkVersion refuses an MM7Version of another release than the
// namespace: REL-5-… goes with 5.x.y, REL-6-… with 6.x.y.
func checkVersion(ns, version string) error {
	major, _, ok := strings.Cut(version, ".")
	if !ok || major == "" || strings.Trim(version, "0123456789.") != "" {
		return fmt.Errorf("MM7Version %q: want x.y.z", version)
	}
	rel := strings.TrimPrefix(ns, NSPrefix)
	if r, _, ok := strings.Cut(rel, "-MM7-"); ok && strings.HasPrefix(r, "REL-") {
		if r[len("REL-"):] != major {
			return fmt.Errorf("MM7Version %s does not belong to namespace %s (want %s.x.y)", version, rel, r[len("REL-"):])
		}
	}
	return nil
}

// Submit sends sub to the MMSC and returns what it answered. Temporary
// failures are retried with capped exponential backoff until Retries is
// used up or ctx ends. The result's Attempts is set on failure too. A
// failure is an *SubmitError (or ErrBadSubmission, or the context's error
// beside the last attempt's), wrapped with the recipient.
//
// An attempt that timed out may still have reached the MMSC, so a retry
// after a timeout can deliver the message twice; each attempt carries its
// own TransactionID ("mmsp-<id>-<attempt>"), which shows this in the
// MMSC's logs. Replies are short notices, where twice beats never.
func (s *Submitter) Submit(ctx context.Context, sub Submission) (SubmitResult, error) {
	var res SubmitResult
	built, err := s.build(sub)
	if err != nil {
		return res, fmt.Errorf("mm7: submit to %s: %w", sub.To, err)
	}
	txBase := "mmsp-" + newID()
	log := s.log.With("to", sub.To, "linked_id", sub.LinkedID)
	for {
		res.Attempts++
		tx := fmt.Sprintf("%s-%d", txBase, res.Attempts)
		rsp, retryAfter, err := s.attempt(ctx, built, tx)
		if err == nil {
			res.MessageID, res.Status, res.StatusText = rsp.messageID, rsp.status, rsp.statusText
			log.Info("mm7: message submitted", "tx", tx, "message_id", rsp.messageID, "status", int(rsp.status), "attempts", res.Attempts)
			return res, nil
		}
		var se *SubmitError
		if errors.As(err, &se) {
			res.Status, res.StatusText = se.Status, se.Text
		}
		if ctx.Err() != nil {
			return res, fmt.Errorf("mm7: submit to %s: %w: attempts: %d: last: %w", sub.To, context.Cause(ctx), res.Attempts, err)
		}
		if se == nil || !se.Temporary || res.Attempts > s.cfg.Retries {
			log.Warn("mm7: submit failed", "tx", tx, "attempts", res.Attempts, "err", err)
			return res, fmt.Errorf("mm7: submit to %s: %w", sub.To, err)
		}
		delay := s.backoff(res.Attempts, retryAfter)
		log.Warn("mm7: submit failed, will retry", "tx", tx, "attempt", res.Attempts, "retry_in", delay, "err", err)
		if err := s.sleep(ctx, delay); err != nil {
			return res, fmt.Errorf("mm7: submit to %s: %w: attempts: %d: last: %w", sub.To, err, res.Attempts, se)
		}
	}
}

// attempt sends one SubmitReq with the TransactionID tx. retryAfter is the
// MMSC's Retry-After, if it sent one.
func (s *Submitter) attempt(ctx context.Context, b *builtSubmit, tx string) (rsp submitAnswer, retryAfter time.Duration, err error) {
	actx, cancel := context.WithTimeout(ctx, s.cfg.Timeout)
	defer cancel()
	contentType, body, err := b.request(tx, s.now())
	if err != nil {
		return rsp, 0, &SubmitError{Text: "request could not be built", Err: err}
	}
	req, err := http.NewRequestWithContext(actx, http.MethodPost, s.cfg.URL, bytes.NewReader(body))
	if err != nil {
		return rsp, 0, &SubmitError{Text: "request could not be built", Err: err}
	}
	req.Header.Set("Content-Type", contentType)
	// SOAP 1.1 §6.1.1 makes the header mandatory; MM7 leaves it empty.
	req.Header.Set("SOAPAction", `""`)
	if s.cfg.Username != "" || s.cfg.Password != "" {
		req.SetBasicAuth(s.cfg.Username, s.cfg.Password)
	}
	resp, err := s.client.Do(req)
	if err != nil {
		// Connection refused or reset, DNS, TLS, the attempt's timeout:
		// nothing was answered, so the MMSC may be asked again.
		return rsp, 0, &SubmitError{Temporary: true, Err: err}
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.cfg.MaxResponseBytes+1))
	if err != nil {
		return rsp, 0, &SubmitError{HTTPStatus: resp.StatusCode, Temporary: true, Text: "answer could not be read", Err: err}
	}
	if int64(len(data)) > s.cfg.MaxResponseBytes {
		return rsp, 0, &SubmitError{HTTPStatus: resp.StatusCode, Temporary: resp.StatusCode >= 500,
			Text: fmt.Sprintf("answer larger than %d bytes", s.cfg.MaxResponseBytes)}
	}
	rsp, err = readSubmitResponse(resp.StatusCode, resp.Header.Get("Content-Type"), data)
	if err != nil {
		return rsp, retryAfterOf(resp), err
	}
	if rsp.txID != "" && rsp.txID != tx {
		// Answers are matched by the HTTP exchange, so this is only worth
		// a note: some MMSCs echo their own id.
		s.log.Debug("mm7: SubmitRsp echoes another TransactionID", "tx", tx, "echoed", rsp.txID)
	}
	return rsp, 0, nil
}

// backoff is the delay before attempt n+1: RetryMin doubled per attempt,
// capped at RetryMax, with the upper half jittered so that many replies
// failing together do not come back together. The MMSC's Retry-After
// raises it (still capped).
func (s *Submitter) backoff(n int, retryAfter time.Duration) time.Duration {
	d := backoff.Jitter(backoff.Delay(s.cfg.RetryMin, s.cfg.RetryMax, n-1))
	return min(max(d, retryAfter), s.cfg.RetryMax)
}

// retryAfterOf reads a Retry-After in seconds (the form MMSCs and proxies
// use with 503 and 429); dates are ignored.
func retryAfterOf(resp *http.Response) time.Duration {
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0
	}
	return time.Duration(min(n, 3600)) * time.Second
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return context.Cause(ctx)
	}
}
