package app_test

import (
	"context"
	"fmt"
	"log/slog"
	"testing"
	"time"

	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
)

// xmppServer is the real XMPP server a test runs against, Prosody or
// ejabberd: what the clients and the service's configuration need of it,
// and how it differs where the tests can see it.
type xmppServer struct {
	Domain        string
	Component     string
	Secret        string
	C2SAddr       string
	ComponentAddr string

	register func(ctx context.Context, user, password string) error
	// subscribe makes two online clients of the server at domain
	// contacts, as far as it needs for PEP events to flow between them.
	subscribe func(ctx context.Context, t testing.TB, domain string, a, b *xmppclient.Client)
	// config is the service's configuration particular to this server,
	// appended to the common one.
	config string
	// emptyAvatars says the server publishes "no avatar" (metadata
	// without info) when a client sets a vCard without PHOTO.
	emptyAvatars bool
	// ejabberdVersion is ejabberd's version, "" for Prosody.
	ejabberdVersion string
}

// Register creates an account on the server.
func (s *xmppServer) Register(ctx context.Context, user, password string) error {
	return s.register(ctx, user, password)
}

// makeContacts makes two online clients contacts.
func (s *xmppServer) makeContacts(ctx context.Context, t testing.TB, a, b *xmppclient.Client) {
	t.Helper()
	s.subscribe(ctx, t, s.Domain, a, b)
}

// dial logs user in with the password the environment gave them.
func (s *xmppServer) dial(ctx context.Context, t testing.TB, user string, log *slog.Logger) *xmppclient.Client {
	t.Helper()
	c, err := xmppclient.Dial(ctx, s.C2SAddr, jid.MustParse(user+"@"+s.Domain), "pw-"+user, log)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// startProsody starts Prosody with the given vCard module ("vcard" or
// "vcard_legacy"; "" is Prosody's default), from the Debian root given
// ("" for the system's), granting the component the roster permission
// given ("" for the harness's "get"). The service publishes to PEP
// itself, through XEP-0356 privileges.
func startProsody(t testing.TB, vcardModule, root, roster string) *xmppServer {
	t.Helper()
	xs := prosody.StartT(t, prosody.Options{VCardModule: vcardModule, Root: root, Roster: roster})
	return &xmppServer{
		Domain: xs.Domain, Component: xs.Component, Secret: xs.Secret,
		C2SAddr: xs.C2SAddr, ComponentAddr: xs.ComponentAddr,
		register: xs.Register, subscribe: mutualSubscribe,
	}
}

// mutualSubscribe makes a and b contacts the standard way.
func mutualSubscribe(ctx context.Context, t testing.TB, _ string, a, b *xmppclient.Client) {
	t.Helper()
	if err := xmppclient.MutualSubscribe(ctx, a, b); err != nil {
		t.Fatal(err)
	}
}

// startEjabberd starts Debian's ejabberd 23.01. Its XEP-0356 is v0.2 (no
// IQ permission), so the service publishes through ejabberd's HTTP API
// (send_stanza of one vcard-temp set, which mod_avatar turns into PEP).
// ejabberd sends PEP events for contacts through the owner's online
// session, so its tests say whether alice is online when the MMS arrives.
//
// From a Debian 13 root (root set), ejabberd is 24.12 or 26.07, whose
// XEP-0356 is v0.4 with IQ permission: the service publishes through
// privileged IQs there, as on Prosody, and needs no HTTP API.
//
// roster is the XEP-0356 roster permission granted ("" for "get").
func startEjabberd(t testing.TB, root, roster string) *xmppServer {
	t.Helper()
	xs := ejabberd.StartT(t, ejabberd.Options{Root: root, Roster: roster})
	if root != "" {
		t.Logf("ejabberd %s from %s", xs.Version, root)
		return &xmppServer{
			Domain: xs.Domain, Component: xs.Component, Secret: xs.Secret,
			C2SAddr: xs.C2SAddr, ComponentAddr: xs.ComponentAddr,
			register: xs.Register, subscribe: ejabberdSubscribe,
			emptyAvatars: true, ejabberdVersion: xs.Version,
		}
	}
	return &xmppServer{
		Domain: xs.Domain, Component: xs.Component, Secret: xs.Secret,
		C2SAddr: xs.C2SAddr, ComponentAddr: xs.ComponentAddr,
		register: xs.Register, subscribe: ejabberdSubscribe,
		config: fmt.Sprintf(`
[ejabberd]
api_url = %q
api_user = %q
api_password = %q
`, xs.APIURL, xs.APIUser, xs.APIPassword),
		// mod_avatar writes the metadata itself from the vCard PHOTO.
		emptyAvatars:    true,
		ejabberdVersion: xs.Version,
	}
}

// ejabberdSubscribe makes a and b contacts. On ejabberd, PEP events for b
// go through a's session, to the caps a's session has stored from b's
// presence, and it stores them only from a presence that arrives once the
// subscription is in place; during the subscription dance b's presence can
// arrive one step early, so b announces itself again, and the disco round
// trips make sure a's session has handled that presence (b's session
// routes it before answering b's query; a's handles its mailbox in order).
//
// MutualSubscribe's last step, waiting for a presence that arrives after
// the subscription, can miss that early presence on ejabberd, so only the
// subscription state it reaches counts here.
func ejabberdSubscribe(ctx context.Context, t testing.TB, domain string, a, b *xmppclient.Client) {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := xmppclient.MutualSubscribe(sctx, a, b)
	cancel()
	if err != nil {
		if a.Subscription(b.JID().Bare()) != "both" || b.Subscription(a.JID().Bare()) != "both" {
			t.Fatal(err)
		}
		t.Logf("ejabberd subscription race, recovered: %v", err)
	}
	for _, c := range []*xmppclient.Client{b, a} {
		if err := c.SendPresence(ctx); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []*xmppclient.Client{b, a} {
		if _, err := disco.GetInfo(ctx, "", jid.MustParse(domain), c.Session()); err != nil {
			t.Fatal(err)
		}
	}
}
