package email

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"strings"
	"time"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// Replier sends a short text reply to a phone by e-mail (instructions,
// refusals), through a smarthost: the carrier gateway turns it into an SMS
// or MMS. The profile's linking flow uses it.
type Replier struct {
	// Smarthost is host:port of the relay that takes our outgoing mail.
	Smarthost string
	// From is our address (envelope and header), e.g. avatar@example.org.
	From string
	// Hostname is our EHLO name.
	Hostname string
	// Username and Password, if set, authenticate with AUTH PLAIN, which
	// is only done over TLS (STARTTLS or a TLS smarthost).
	Username, Password string
	// TLS, if set, is used for STARTTLS; the reply fails if the
	// smarthost does not offer it. Nil sends in the clear (a relay on
	// loopback or in the same host).
	TLS *tls.Config
	// Timeout bounds the whole exchange when ctx has no earlier deadline.
	Timeout time.Duration
}

// Reply is one reply mail.
type Reply struct {
	To        string // the phone's e-mail address (2025550143@mms.att.net)
	Subject   string
	Text      string
	InReplyTo string // Message-ID being answered, without angle brackets
}

// Send delivers r through the smarthost.
func (rp *Replier) Send(ctx context.Context, r Reply) error {
	if rp.Smarthost == "" || rp.From == "" || r.To == "" {
		return fmt.Errorf("email: reply to %s: smarthost, from and to are required", r.To)
	}
	// Compose first: a bad header value fails before any connection.
	msg, err := rp.compose(r)
	if err != nil {
		return fmt.Errorf("email: reply to %q: %w", r.To, err)
	}
	timeout := rp.Timeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", rp.Smarthost)
	if err != nil {
		return fmt.Errorf("email: reply to %s: dial %s: %w", r.To, rp.Smarthost, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	// Closing the connection is how a cancelled ctx stops a blocked read.
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()

	var c *smtp.Client
	if rp.TLS != nil {
		if c, err = smtp.NewClientStartTLS(conn, rp.TLS); err != nil {
			conn.Close()
			return fmt.Errorf("email: reply to %s: starttls %s: %w", r.To, rp.Smarthost, err)
		}
	} else {
		c = smtp.NewClient(conn)
	}
	defer c.Close()
	if err := rp.send(c, r.To, msg); err != nil {
		return fmt.Errorf("email: reply to %s via %s: %w", r.To, rp.Smarthost, err)
	}
	return nil
}

func (rp *Replier) send(c *smtp.Client, to string, msg []byte) error {
	host := rp.Hostname
	if host == "" {
		host = "localhost"
	}
	// NewClientStartTLS has already said EHLO; Hello may come only first.
	if rp.TLS == nil {
		if err := c.Hello(host); err != nil {
			return err
		}
	}
	if rp.Username != "" {
		if rp.TLS == nil {
			return fmt.Errorf("refusing AUTH without TLS")
		}
		if err := c.Auth(sasl.NewPlainClient("", rp.Username, rp.Password)); err != nil {
			return err
		}
	}
	if err := c.SendMail(rp.From, []string{to}, bytes.NewReader(msg)); err != nil {
		return err
	}
	return c.Quit()
}

// compose writes a plain-text UTF-8 mail. Auto-Submitted marks it as a
// machine reply so auto-responders do not answer it (RFC 3834).
func (rp *Replier) compose(r Reply) ([]byte, error) {
	for _, v := range []string{r.To, r.Subject, r.InReplyTo} {
		if strings.ContainsAny(v, "\r\n") {
			return nil, fmt.Errorf("header value %q has a line break", v)
		}
	}
	var id [12]byte
	if _, err := rand.Read(id[:]); err != nil {
		return nil, err
	}
	domain := domainOf(rp.From)
	if domain == "" {
		domain = "localhost"
	}
	var b bytes.Buffer
	h := func(k, v string) { fmt.Fprintf(&b, "%s: %s\r\n", k, v) }
	h("From", rp.From)
	h("To", r.To)
	if r.Subject != "" {
		h("Subject", mime.QEncoding.Encode("utf-8", r.Subject))
	}
	h("Date", time.Now().Format(time.RFC1123Z))
	h("Message-ID", "<"+hex.EncodeToString(id[:])+"@"+domain+">")
	if r.InReplyTo != "" {
		h("In-Reply-To", "<"+r.InReplyTo+">")
		h("References", "<"+r.InReplyTo+">")
	}
	h("Auto-Submitted", "auto-replied")
	h("MIME-Version", "1.0")
	h("Content-Type", "text/plain; charset=utf-8")
	h("Content-Transfer-Encoding", "quoted-printable")
	b.WriteString("\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(r.Text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}
