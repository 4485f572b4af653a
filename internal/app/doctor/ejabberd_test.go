package doctor

import (
	"slices"
	"strings"
	"testing"

	"mmsprofile/config"
	"mmsprofile/internal/testkit/ejabberd"
)

// Against Debian's ejabberd 23.01: the right API account passes, a wrong
// password is named as such.
func TestEjabberdAPI(t *testing.T) {
	ej := ejabberd.StartT(t, ejabberd.Options{})
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Domains = []string{ej.Domain}
	cfg.Ejabberd.APIURL, cfg.Ejabberd.APIUser, cfg.Ejabberd.APIPassword = ej.APIURL, ej.APIUser, ej.APIPassword

	r := &report{w: &strings.Builder{}}
	checkEjabberdAPI(t.Context(), cfg, r, opts, cfg.XMPP.Domains)
	if r.failed {
		t.Fatalf("right credentials failed:\n%s", r.w.(*strings.Builder))
	}
	cfg.Ejabberd.APIPassword = "wrong"
	r = &report{w: &strings.Builder{}}
	checkEjabberdAPI(t.Context(), cfg, r, opts, cfg.XMPP.Domains)
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
	checkEjabberdAPI(t.Context(), cfg, r, opts, cfg.XMPP.Domains)
	out := r.w.(*strings.Builder).String()
	t.Logf("doctor output:\n%s", out)
	if !r.failed {
		t.Fatal("passed although the API refuses send_stanza")
	}
	wantIn(t, out, "call send_stanza for localhost (", "403", "      - send_stanza\n", `user: "`+ej.APIUser+`"`)
	if strings.Contains(out, "call send_stanza, ") || strings.Contains(out, "get_vcard for") {
		t.Error("names a command the server grants as refused")
	}
}

// ejabberdConfig is baseConfig pointed at ej.
func ejabberdConfig(t *testing.T, ej *ejabberd.Server, withAPI bool) (config.Config, Options) {
	t.Helper()
	cfg, opts := baseConfig(t, nil)
	cfg.XMPP.Component, cfg.XMPP.Server, cfg.XMPP.Secret = ej.Component, ej.ComponentAddr, ej.Secret
	cfg.XMPP.Domains = []string{ej.Domain}
	if withAPI {
		cfg.Ejabberd.APIURL, cfg.Ejabberd.APIUser, cfg.Ejabberd.APIPassword = ej.APIURL, ej.APIUser, ej.APIPassword
	}
	return cfg, opts
}

// The whole doctor on every ejabberd generation, as an operator sets each
// up (docs/ejabberd.md): it passes, and says which write path the host
// gets and how its privileged IQs are addressed.
func TestEjabberdGenerations(t *testing.T) {
	want := map[string][]string{
		"bookworm":         {"write path the HTTP API at", "lets mmsapi@localhost call send_stanza, get_vcard, get_vcard2 for localhost"},
		"trixie":           {"write path privileged IQs, the wrapped IQ addressed to the user respelled", "HTTP API stays unused"},
		"trixie-backports": {"runs ejabberd 26.07: write path privileged IQs, addressed to the user", "HTTP API stays unused"},
	}
	for _, g := range ejabberd.Generations() {
		t.Run(g.Name, func(t *testing.T) {
			ej := ejabberd.StartT(t, ejabberd.Options{Root: g.Root})
			cfg, opts := ejabberdConfig(t, ej, true)
			ok, out := run(t, cfg, opts)
			if !ok {
				t.Fatalf("doctor failed on ejabberd %s", ej.Version)
			}
			wantIn(t, out, want[g.Name]...)
		})
	}
}

// ejabberd 26.07 refuses get_vcard and get_vcard2 to an API account that
// api_permissions lists but that is no admin of the host; doctor names the
// configure rule, and passes once the account matches it.
func TestEjabberdAPIAdminRights(t *testing.T) {
	root := ejabberd.RootsDir + "/trixie-backports"
	for _, admin := range []bool{false, true} {
		ej := ejabberd.StartT(t, ejabberd.Options{Root: root, APIAdmin: admin})
		cfg, opts := ejabberdConfig(t, ej, true)
		r := &report{w: &strings.Builder{}}
		checkEjabberdAPI(t.Context(), cfg, r, opts, cfg.XMPP.Domains)
		out := r.w.(*strings.Builder).String()
		t.Logf("ejabberd %s, API account admin %v:\n%s", ej.Version, admin, out)
		if r.failed == admin {
			t.Errorf("admin %v: failed %v", admin, r.failed)
		}
		if !admin {
			wantIn(t, out, "call get_vcard, get_vcard2 for localhost", "configure:", "- allow: mmsprofile_api", `user: "`+ej.APIUser+`"`)
		}
		ej.Close()
	}
}
