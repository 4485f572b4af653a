package doctor

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"mmsprofile/config"
	"mmsprofile/ejabberdapi"
)

// checkEjabberdAPI calls the one read command the publisher relies on
// with the configured account, so a wrong URL, password or permission
// shows now rather than at the first MMS.
func checkEjabberdAPI(ctx context.Context, cfg config.Config, r *report, opts Options) {
	if cfg.Ejabberd.APIURL == "" {
		r.info("[ejabberd] api_url is not set", "needed only for ejabberd before 24.10 (no XEP-0356 IQ permission)")
		return
	}
	if len(cfg.XMPP.Domains) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	c := ejabberdapi.Client{URL: cfg.Ejabberd.APIURL, User: cfg.Ejabberd.APIUser, Password: cfg.Ejabberd.APIPassword, HTTP: &http.Client{}}
	_, err := c.GetVCard2(ctx, "mmsprofile-doctor-probe", cfg.XMPP.Domains[0], "FN", "")
	var apiErr *ejabberdapi.APIError
	switch {
	case err == nil, errors.Is(err, ejabberdapi.ErrNoVCard), errors.Is(err, ejabberdapi.ErrNoValue):
		r.ok("ejabberd API at %s answers get_vcard2 for %s", cfg.Ejabberd.APIURL, cfg.Ejabberd.APIUser)
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusUnauthorized:
		r.fail(fmt.Sprintf("ejabberd API refused the credentials: %v", err), "check [ejabberd] api_user and api_password (the account must exist on ejabberd)")
	case errors.As(err, &apiErr) && apiErr.Status == http.StatusForbidden:
		r.fail(fmt.Sprintf("ejabberd API refused the command: %v", err),
			"in ejabberd.yml api_permissions, grant "+cfg.Ejabberd.APIUser+" the commands send_stanza, get_vcard and get_vcard2 (see docs/ejabberd.md)")
	default:
		r.fail(fmt.Sprintf("ejabberd API at %s: %v", cfg.Ejabberd.APIURL, err),
			"check [ejabberd] api_url, that mod_http_api listens there, and that mod_admin_extra is enabled")
	}
}
