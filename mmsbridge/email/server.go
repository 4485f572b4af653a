package email

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/netip"
	"strings"
	"sync"

	"github.com/emersion/go-smtp"

	"mmsprofile/mmsbridge"
)

// NewServer returns an SMTP (or, with lmtp, LMTP) server that feeds rcv.
// The caller runs it with Serve(listener) and stops it with Shutdown. It
// answers 250 only after rcv.Receive returned nil.
func NewServer(cfg Config, rcv mmsbridge.Receiver, lmtp bool, log *slog.Logger) *smtp.Server {
	be, err := newBackend(cfg, rcv, log)
	if err != nil {
		// A broken carrier table in the config: refuse every session with
		// a temporary error rather than accepting mail we cannot read.
		// config validation (ValidateCarriers) is where this is caught.
		be = &backend{broken: err, log: log}
	}
	cfg = cfg.withDefaults()
	s := smtp.NewServer(be)
	s.LMTP = lmtp
	s.Domain = cfg.Hostname
	s.MaxMessageBytes = cfg.MaxMessageBytes
	s.MaxLineLength = cfg.MaxLineLength
	s.MaxRecipients = cfg.MaxRecipients
	s.ReadTimeout = cfg.ReadTimeout
	s.WriteTimeout = cfg.WriteTimeout
	s.ErrorLog = slogPrintf{log: be.logger()}
	return s
}

// ValidateCarriers compiles the carrier table of cfg, so a bad pattern is
// reported at config load, not at the first mail.
func ValidateCarriers(cfg Config) error {
	_, err := compileCarriers(MergeCarriers(DefaultCarriers(), cfg.Carriers))
	return err
}

type backend struct {
	p      *pipeline
	slots  chan struct{} // one per running session (MaxSessions)
	broken error
	log    *slog.Logger
}

var _ smtp.Backend = (*backend)(nil)

func newBackend(cfg Config, rcv mmsbridge.Receiver, log *slog.Logger) (*backend, error) {
	p, err := newPipeline(cfg, rcv, log)
	if err != nil {
		return nil, err
	}
	return &backend{p: p, slots: make(chan struct{}, p.cfg.MaxSessions), log: p.log}, nil
}

func (b *backend) logger() *slog.Logger {
	if b.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return b.log
}

var errBusy = &smtp.SMTPError{Code: 421, EnhancedCode: smtp.EnhancedCode{4, 3, 2}, Message: "Too many sessions, try again later"}

func (b *backend) NewSession(c *smtp.Conn) (smtp.Session, error) {
	if b.broken != nil {
		return nil, &smtp.SMTPError{Code: 451, EnhancedCode: smtp.EnhancedCode{4, 3, 5}, Message: "Server misconfigured"}
	}
	select {
	case b.slots <- struct{}{}:
	default:
		b.log.Warn("email session refused", "why", "MaxSessions", "client", c.Conn().RemoteAddr().String())
		return nil, errBusy
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &session{b: b, ctx: ctx, cancel: cancel}
	s.env.Helo = c.Hostname()
	if ta, ok := c.Conn().RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			s.env.RemoteIP = ip.Unmap()
		}
	}
	return s, nil
}

// session is one client connection's transaction state.
type session struct {
	b       *backend
	ctx     context.Context // cancelled when the client goes
	cancel  context.CancelFunc
	env     Envelope
	release sync.Once
}

var _ smtp.LMTPSession = (*session)(nil)

func (s *session) Reset() {
	s.env.From, s.env.To = "", nil
}

func (s *session) Logout() error {
	s.release.Do(func() {
		s.cancel()
		<-s.b.slots
	})
	return nil
}

func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	if opts != nil && opts.Size > s.b.p.cfg.MaxMessageBytes {
		return smtp.ErrDataTooLarge
	}
	s.env.From = from
	return nil
}

func (s *session) Rcpt(to string, _ *smtp.RcptOptions) error {
	if !s.b.p.cfg.acceptsRecipient(to) {
		s.b.log.Info("email recipient refused", "rcpt", to, "client", s.env.RemoteIP.String())
		return outcomeFor(ErrRecipient).smtp
	}
	s.env.To = append(s.env.To, to)
	return nil
}

func (s *session) Data(r io.Reader) error {
	return s.reply(s.deliver(r))
}

// LMTPData answers every recipient with the one outcome: the message is
// taken (or not) once, whoever it was addressed to.
func (s *session) LMTPData(r io.Reader, status smtp.StatusCollector) error {
	err := s.reply(s.deliver(r))
	for _, rcpt := range s.env.To {
		status.SetStatus(rcpt, err)
	}
	return nil
}

func (s *session) deliver(r io.Reader) error {
	raw, err := io.ReadAll(r)
	if err != nil {
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se // ErrDataTooLarge from go-smtp's own limit
		}
		return err
	}
	// The message is read whole: from here on the work (authentication,
	// commit) runs to its end under its own deadline, not under the
	// session's, which a closing connection or server cancels; the MTA
	// then retries, and the commit's Message-ID makes that a no-op.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(s.ctx), 2*s.b.p.cfg.ReceiveTimeout)
	defer cancel()
	return s.b.p.deliver(ctx, raw, s.env)
}

func (s *session) reply(err error) error {
	if err == nil {
		return nil
	}
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		return se
	}
	return outcomeFor(err).smtp
}

// slogPrintf lets go-smtp's internal error log go to slog.
type slogPrintf struct{ log *slog.Logger }

func (l slogPrintf) Printf(format string, v ...any) {
	l.log.Error("smtp server", "msg", sprintf(format, v...))
}

func (l slogPrintf) Println(v ...any) { l.log.Error("smtp server", "msg", sprintln(v...)) }

func sprintf(format string, v ...any) string { return fmt.Sprintf(format, v...) }
func sprintln(v ...any) string               { return strings.TrimSuffix(fmt.Sprintln(v...), "\n") }

// GuardListener wraps the listener NewServer's server is to Serve, so that
// a connection whose answer could not be written in WriteTimeout is
// closed. go-smtp keeps reading commands after a failed write (its
// writer's error sticks), so a client that pipelines commands without ever
// reading the answers would otherwise hold its session, and one of
// MaxSessions, for as long as it keeps sending.
func GuardListener(ln net.Listener) net.Listener { return guardedListener{ln} }

type guardedListener struct{ net.Listener }

func (l guardedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return guardedConn{c}, nil
}

type guardedConn struct{ net.Conn }

func (c guardedConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if err != nil {
		c.Conn.Close()
	}
	return n, err
}
