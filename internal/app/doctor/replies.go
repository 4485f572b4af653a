package doctor

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"strings"
	"time"

	"mmsprofile/config"
)

func checkReplies(ctx context.Context, cfg config.Config, r *report, opts Options) {
	if u := cfg.MM7.SubmitURL; u == "" {
		if cfg.MM7.Listen != "" {
			r.info("mm7.submit_url is empty: phones writing over MM7 get no reply (link codes, help, refusals)", "")
		}
	} else {
		checkURL(ctx, "mm7.submit_url", u, r, opts,
			"the MMSC's MM7 endpoint for SubmitReq: ask its operator for the URL, and for our address to be on its allowlist.")
	}
	if sh := cfg.Email.Smarthost; sh == "" {
		if cfg.Email.Listen != "" {
			r.info("email.smarthost is empty: phones writing by e-mail get no reply", "")
		}
	} else {
		checkSMTP(ctx, sh, r, opts)
	}
	if u := cfg.Ejabberd.APIURL; u != "" {
		checkURL(ctx, "ejabberd.api_url", u, r, opts,
			"ejabberd's HTTP API: a listener with request_handlers: /api: mod_http_api (see docs/ejabberd.md).")
	}
}

// checkURL dials the URL's host and port; it sends no request, since an
// MM7 request with nothing in it could be taken for a real submission.
func checkURL(ctx context.Context, key, raw string, r *report, opts Options, fix string) {
	u, err := url.Parse(raw)
	if err != nil || u.Host == "" {
		r.fail(fmt.Sprintf("%s %q is not a URL", key, raw), "")
		return
	}
	addr := u.Host
	if u.Port() == "" {
		p := "80"
		if u.Scheme == "https" {
			p = "443"
		}
		addr = net.JoinHostPort(u.Hostname(), p)
	}
	d := net.Dialer{Timeout: opts.Timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		r.fail(fmt.Sprintf("%s: cannot reach %s: %s", key, addr, dialProblem(err)), fix)
		return
	}
	c.Close()
	r.ok("%s: %s accepts connections", key, addr)
}

// checkSMTP dials the smarthost and reads its greeting: a port that
// answers with something else than 220 is not a mail server.
func checkSMTP(ctx context.Context, addr string, r *report, opts Options) {
	d := net.Dialer{Timeout: opts.Timeout}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		r.fail(fmt.Sprintf("email.smarthost: cannot reach %s: %s", addr, dialProblem(err)),
			"the relay our replies go out through: check the address and that it lets this machine relay.")
		return
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(opts.Timeout))
	line, err := bufio.NewReader(c).ReadString('\n')
	if err != nil {
		r.fail(fmt.Sprintf("email.smarthost %s accepts connections but sends no SMTP greeting: %v", addr, err),
			"is it an SMTP port (25 or 587)? Port 465 (TLS from the first byte) is not supported:\n"+
				"use 587 with email.smarthost_tls = true (STARTTLS).")
		return
	}
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "220") {
		r.fail(fmt.Sprintf("email.smarthost %s greets with %q instead of 220", addr, line), "")
		return
	}
	_, _ = fmt.Fprint(c, "QUIT\r\n")
	r.ok("email.smarthost %s greets: %s", addr, line)
}
