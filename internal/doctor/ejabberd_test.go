package doctor

import (
	"slices"
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

// A server whose api_permissions grant the API account the vCard getters
// but not send_stanza accepts the credentials and every read, and then
// refuses every publish: doctor must fail and name the line to add.
func TestEjabberdAPIWithoutSendStanza(t *testing.T) {
	without := slices.DeleteFunc(ejabberd.PublisherCommands(), func(c string) bool { return c == "send_stanza" })
	ej := ejabberd.StartT(t, ejabberd.Options{APICommands: without})
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Domains = []string{ej.Domain}
	cfg.Ejabberd.APIURL, cfg.Ejabberd.APIUser, cfg.Ejabberd.APIPassword = ej.APIURL, ej.APIUser, ej.APIPassword

	r := &report{w: &strings.Builder{}}
	checkEjabberdAPI(t.Context(), cfg, r, opts)
	out := r.w.(*strings.Builder).String()
	t.Logf("doctor output:\n%s", out)
	if !r.failed {
		t.Fatal("passed although the API refuses send_stanza")
	}
	wantIn(t, out, "call send_stanza (", "403", "      - send_stanza\n", `user: "`+ej.APIUser+`"`)
	if strings.Contains(out, "call send_stanza, ") || strings.Contains(out, "get_vcard (") {
		t.Error("names a command the server grants as refused")
	}
}
