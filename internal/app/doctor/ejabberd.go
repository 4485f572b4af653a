package doctor

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"mellium.im/xmpp/ping"
	"mellium.im/xmpp/stanza"

	"mmsprofile/config"
	"mmsprofile/xmpp/ejabberdapi"
)

// probeUser is the local part the probes name. No such account needs to
// exist: the getters answer "no vCard" for it, and what the server sends
// back to it is dropped.
const probeUser = "mmsprofile-doctor-probe"

// pingProbe returns the stanza send_stanza's probe routes: a ping to the
// server itself. The server answers to the probe account, which has no
// session, so the answer is dropped and nobody sees anything; a stanza
// that changes nothing, yet goes through the same permission check as
// the publisher's vCard sets.
func pingProbe() (string, error) {
	iq := ping.IQ{IQ: stanza.IQ{XMLName: xml.Name{Space: stanza.NSClient, Local: "iq"}, Type: stanza.GetIQ, ID: "mmsprofile-doctor"}}
	b, err := xml.Marshal(iq)
	if err != nil {
		return "", fmt.Errorf("marshal the ping probe: %w", err)
	}
	return string(b), nil
}

// apiProbe is one command the HTTP API path of the publisher calls
// (publisher/ejabberd.go), with a call of it that has no visible effect.
type apiProbe struct {
	command string
	call    func(ctx context.Context, c *ejabberdapi.Client, domain string) error
}

func apiProbes() []apiProbe {
	vcardRead := func(err error) error {
		if errors.Is(err, ejabberdapi.ErrNoVCard) || errors.Is(err, ejabberdapi.ErrNoValue) {
			return nil
		}
		return err
	}
	return []apiProbe{
		{"send_stanza", func(ctx context.Context, c *ejabberdapi.Client, domain string) error {
			probe, err := pingProbe()
			if err != nil {
				return err
			}
			return c.SendStanza(ctx, probeUser+"@"+domain, domain, probe)
		}},
		{"get_vcard", func(ctx context.Context, c *ejabberdapi.Client, domain string) error {
			_, err := c.GetVCard(ctx, probeUser, domain, "NICKNAME")
			return vcardRead(err)
		}},
		{"get_vcard2", func(ctx context.Context, c *ejabberdapi.Client, domain string) error {
			_, err := c.GetVCard2(ctx, probeUser, domain, "PHOTO", "BINVAL")
			return vcardRead(err)
		}},
	}
}

// checkEjabberdAPI calls every command the publisher's HTTP API path
// uses, each in a way that changes nothing, with the configured account,
// for the hosts whose write path it is: a wrong URL, password or a
// command missing from api_permissions shows now rather than as a 403 on
// every publish.
func checkEjabberdAPI(ctx context.Context, cfg config.Config, r *report, opts Options, hosts []string) {
	if cfg.Ejabberd.APIURL == "" {
		r.info("[ejabberd] api_url is not set", "needed only for ejabberd before 24.10 (no XEP-0356 IQ permission)")
		return
	}
	if len(hosts) == 0 {
		r.info("[ejabberd] api_url is set, but every host is written through privileged IQs: the HTTP API stays unused, and is not checked", "")
		return
	}
	for _, domain := range hosts {
		checkEjabberdAPIHost(ctx, cfg, r, opts, domain)
	}
}

func checkEjabberdAPIHost(ctx context.Context, cfg config.Config, r *report, opts Options, domain string) {
	c := ejabberdapi.Client{URL: cfg.Ejabberd.APIURL, User: cfg.Ejabberd.APIUser, Password: cfg.Ejabberd.APIPassword, HTTP: &http.Client{}}
	var granted, refused []string
	var refusal error
	for _, p := range apiProbes() {
		pctx, cancel := context.WithTimeout(ctx, opts.Timeout)
		err := p.call(pctx, &c, domain)
		cancel()
		var apiErr *ejabberdapi.APIError
		switch {
		case err == nil:
			granted = append(granted, p.command)
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
			r.fail(fmt.Sprintf("ejabberd API refused the credentials: %v", err),
				"check [ejabberd] api_user and api_password (the account must exist on ejabberd)")
			return
		case errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden:
			refused = append(refused, p.command)
			if refusal == nil {
				refusal = err
			}
		case errors.As(err, &apiErr) && strings.Contains(strings.ToLower(apiErr.Message), "unknown_command"):
			r.fail(fmt.Sprintf("ejabberd API does not know %s: %v", p.command, err),
				"enable mod_admin_extra in ejabberd.yml (modules: mod_admin_extra: {}): it defines send_stanza and the vCard commands")
			return
		default:
			r.fail(fmt.Sprintf("ejabberd API at %s: %s: %v", cfg.Ejabberd.APIURL, p.command, err),
				"check [ejabberd] api_url, that mod_http_api listens there, and that mod_admin_extra is enabled")
			return
		}
	}
	if len(refused) > 0 {
		fix := apiPermissionsFix(cfg.Ejabberd.APIUser, refused)
		if len(granted) > 0 && !slices.Contains(refused, "send_stanza") {
			// Only the commands with a host argument refused: the sign of
			// ejabberd 26.07's extra check, which api_permissions cannot
			// lift (its message says so only at debug level).
			fix += "\n\n" + configureFix(cfg.Ejabberd.APIUser, domain)
		}
		r.fail(fmt.Sprintf("ejabberd API does not let %s call %s for %s (%v): every publish would fail with 403",
			cfg.Ejabberd.APIUser, strings.Join(refused, ", "), domain, refusal), fix)
		return
	}
	r.ok("ejabberd API at %s lets %s call %s for %s", cfg.Ejabberd.APIURL, cfg.Ejabberd.APIUser, strings.Join(granted, ", "), domain)
}

// configureFix is what ejabberd 26.07 needs besides api_permissions: it
// runs a command with a host argument for an authenticated account only
// when the account matches the configure access rule for that host.
func configureFix(user, domain string) string {
	return fmt.Sprintf(`if they are listed there already, this is ejabberd 26.07 or later: it runs commands with a host
argument (get_vcard, get_vcard2) only for an account that matches the configure access rule of
that host, which makes it an admin of %s. Add the account to that rule:

  acl:
    mmsprofile_api:
      user: %q
  access_rules:
    configure:
      - allow: admin
      - allow: mmsprofile_api

or grant the component privileged IQs instead (mod_privilege iq, docs/ejabberd.md), which
26.07 supports and which need no HTTP API at all.`, domain, user)
}

// apiPermissionsFix is what to add to ejabberd.yml: the missing lines
// for an existing rule, and the whole rule for a config without one.
func apiPermissionsFix(user string, refused []string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "in ejabberd.yml, add to the what: list of the api_permissions rule whose who: names %s:\n\n", user)
	for _, c := range refused {
		fmt.Fprintf(&b, "      - %s\n", c)
	}
	b.WriteString("\nor, when there is no such rule yet, add it:\n\n  api_permissions:\n")
	b.WriteString("    \"mmsprofile publisher\":\n      from: mod_http_api\n      who:\n")
	fmt.Fprintf(&b, "        user: %q\n      what:\n", user)
	for _, p := range apiProbes() {
		fmt.Fprintf(&b, "        - %s\n", p.command)
	}
	b.WriteString("\nthen: ejabberdctl reload_config")
	return b.String()
}
