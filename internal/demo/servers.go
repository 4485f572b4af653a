package main

import (
	"context"
	"fmt"
	"time"

	"mellium.im/xmpp/disco"
	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
	"mmsprofile/xmpp/component"
)

// xmppServer is the throwaway XMPP server the demo runs: what the clients
// and mmsprofile's configuration need of it, and how it differs.
type xmppServer struct {
	name                      string // as the demo prints it
	Domain, Component, Secret string
	C2SAddr, ComponentAddr    string
	register                  func(ctx context.Context, user, password string) error
	close                     func() error
	// config is mmsprofile's configuration particular to this server.
	config string
	// ownerOnline: the server sends PEP events to contacts only through
	// the owner's online session (ejabberd), so alice stays online.
	ownerOnline bool
	// subscribe makes two online clients contacts.
	subscribe func(ctx context.Context, a, b *xmppclient.Client) error
}

// startServer starts the server named by kind: "prosody" (the system's)
// or "ejabberd" (the system's; Debian 12's 23.01, which mmsprofile writes
// to through its HTTP API).
func startServer(ctx context.Context, kind string) (*xmppServer, error) {
	switch kind {
	case "prosody", "":
		if err := prosody.Installed(); err != nil {
			return nil, err
		}
		xs, err := prosody.Start(ctx, prosody.Options{LogLevel: "info"})
		if err != nil {
			return nil, err
		}
		return &xmppServer{
			name: "Prosody", Domain: xs.Domain, Component: xs.Component, Secret: xs.Secret,
			C2SAddr: xs.C2SAddr, ComponentAddr: xs.ComponentAddr,
			register: xs.Register, close: xs.Close,
			subscribe: xmppclient.MutualSubscribe,
		}, nil
	case "ejabberd":
		if err := ejabberd.Installed(); err != nil {
			return nil, err
		}
		xs, err := ejabberd.Start(ctx, ejabberd.Options{LogLevel: "warning"})
		if err != nil {
			return nil, err
		}
		s := &xmppServer{
			name: "ejabberd " + xs.Version, Domain: xs.Domain, Component: xs.Component, Secret: xs.Secret,
			C2SAddr: xs.C2SAddr, ComponentAddr: xs.ComponentAddr,
			register: xs.Register, close: xs.Close,
			ownerOnline: true,
			subscribe: func(ctx context.Context, a, b *xmppclient.Client) error {
				return ejabberdSubscribe(ctx, xs.Domain, a, b)
			},
		}
		// Before 24.10, ejabberd grants no privileged IQ: mmsprofile
		// publishes through the HTTP API the harness set up.
		if !(component.Server{Name: "ejabberd", Version: xs.Version}).AtLeast(24, 10) {
			s.config = fmt.Sprintf("\n[ejabberd]\napi_url = %q\napi_user = %q\napi_password = %q\n", xs.APIURL, xs.APIUser, xs.APIPassword)
		}
		return s, nil
	}
	return nil, fmt.Errorf("unknown server %q: want prosody or ejabberd", kind)
}

// ejabberdSubscribe makes a and b contacts so that PEP events flow on
// ejabberd: its sessions send them to the caps they stored from a presence
// that arrived once the subscription was in place, so both announce
// themselves again, and a disco round trip each makes sure that presence
// was handled.
func ejabberdSubscribe(ctx context.Context, domain string, a, b *xmppclient.Client) error {
	sctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	err := xmppclient.MutualSubscribe(sctx, a, b)
	cancel()
	// Its last step, a presence after the subscription, can be missed on
	// ejabberd: the subscription state is what counts.
	if err != nil && (a.Subscription(b.JID().Bare()) != "both" || b.Subscription(a.JID().Bare()) != "both") {
		return err
	}
	for _, c := range []*xmppclient.Client{b, a} {
		if err := c.SendPresence(ctx); err != nil {
			return err
		}
	}
	for _, c := range []*xmppclient.Client{b, a} {
		if _, err := disco.GetInfo(ctx, "", jid.MustParse(domain), c.Session()); err != nil {
			return err
		}
	}
	return nil
}
