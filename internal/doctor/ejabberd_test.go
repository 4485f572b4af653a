package doctor

import (
	"strings"
	"testing"

	"mmsprofile/internal/ejabberd"
)

// Against Debian's ejabberd 23.01: the right API account passes, a wrong
// password is named as such.
func TestEjabberdAPI(t *testing.T) {
	ej := ejabberd.StartT(t, ejabberd.Options{})
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Domains = []string{ej.Domain}
	cfg.Ejabberd.APIURL, cfg.Ejabberd.APIUser, cfg.Ejabberd.APIPassword = ej.APIURL, ej.APIUser, ej.APIPassword

	r := &report{w: &strings.Builder{}}
	checkEjabberdAPI(t.Context(), cfg, r, opts)
	if r.failed {
		t.Fatalf("right credentials failed:\n%s", r.w.(*strings.Builder))
	}
	cfg.Ejabberd.APIPassword = "wrong"
	r = &report{w: &strings.Builder{}}
	checkEjabberdAPI(t.Context(), cfg, r, opts)
	if out := r.w.(*strings.Builder).String(); !r.failed || !strings.Contains(out, "api_password") {
		t.Fatalf("wrong password not named:\n%s", out)
	}
}
