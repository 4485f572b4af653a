package doctor

import (
	"context"
	"encoding/xml"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"

	"mmsprofile/config"
	"mmsprofile/xmpp/component"
)

// checkRoster says, for one host, whether contacts from address books can
// be added to its users' rosters directly (XEP-0356 roster permission
// "set" or "both", for accounts that turn the roster preference on) or
// are only suggested. Neither stops the service: a note or a warning.
func checkRoster(ctx context.Context, cfg config.Config, comp *component.Component, d string, p component.Perms, r *report, opts Options) {
	if !p.AllowsRosterSet() {
		r.info(fmt.Sprintf("%s grants no roster set (roster %s): address-book contacts are suggested (XEP-0144), never added directly", d, orNone(p.Roster)),
			"to let accounts that turn on \"Add them to my contacts directly\" have them added, grant roster \"both\":\n"+
				"  Prosody:  roster = \"both\"; in privileged_entities[\""+cfg.XMPP.Component+"\"] of VirtualHost \""+d+"\"\n"+
				"  ejabberd: mod_privilege: roster: both: mms_component")
		return
	}
	if p.Version != component.NSPrivilege1 {
		r.ok("%s grants roster %s: address-book contacts are added to rosters directly for accounts that ask", d, p.Roster)
		return
	}
	// XEP-0356 v0.2 is ejabberd before 24.10, whose own IQs still reach
	// the component: its version says whether it has #3942.
	srv := serverVersion(ctx, comp, d, opts)
	switch {
	case srv.Ejabberd() && srv.AtLeast(23, 10):
		r.ok("%s grants roster %s (%s): address-book contacts are added to rosters directly for accounts that ask", d, p.Roster, srv)
	default:
		what := "ejabberd before 24.10"
		if srv.Name != "" {
			what = srv.String()
		}
		r.warn(fmt.Sprintf("%s grants roster %s, but runs %s: ejabberd before 23.10 fails every roster set from a component "+
			"(wait/internal-server-error, processone/ejabberd#3942), so address-book contacts are suggested instead", d, p.Roster, what),
			"upgrade ejabberd to 23.10 or later to add them directly; nothing else is affected.")
	}
}

// serverVersion asks host for its software (XEP-0092) as the component
// itself (serve does so only for XEP-0356 v0.4 hosts); empty when it does
// not say.
func serverVersion(ctx context.Context, comp *component.Component, host string, opts Options) component.Server {
	h, err := jid.Parse(host)
	if err != nil {
		return component.Server{}
	}
	ctx, cancel := context.WithTimeout(ctx, ownIQTimeout(opts))
	defer cancel()
	raw, err := comp.IQ(ctx, h, "get", component.EmptyElement("jabber:iq:version", "query"))
	if err != nil {
		return component.Server{}
	}
	var v struct {
		Name    string `xml:"name"`
		Version string `xml:"version"`
	}
	if xml.Unmarshal(raw, &v) != nil {
		return component.Server{}
	}
	return component.Server{Name: strings.TrimSpace(v.Name), Version: strings.TrimSpace(v.Version)}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
