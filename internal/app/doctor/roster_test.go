package doctor

import (
	"testing"

	"mmsprofile/internal/testkit/ejabberd"
	"mmsprofile/internal/testkit/prosody"
)

// doctor says per host whether address-book contacts can be added to
// rosters: Prosody granting roster "both" can, Prosody granting "get"
// cannot (a note naming the grant), and Debian 12's ejabberd 23.01 grants
// it but fails roster sets (a warning naming processone/ejabberd#3942).
// None of these fails the doctor.
func TestRosterPrivilege(t *testing.T) {
	for _, tc := range []struct {
		roster string
		want   []string
	}{
		{"both", []string{"localhost grants roster both: address-book contacts are added to rosters directly"}},
		{"", []string{"localhost grants no roster set (roster get)", `roster = "both"; in privileged_entities["mms.localhost"]`}},
	} {
		srv := prosody.StartT(t, prosody.Options{Roster: tc.roster})
		cfg, opts := baseConfig(t, srv)
		ok, out := run(t, cfg, opts)
		if !ok {
			t.Errorf("Prosody, roster %q: doctor failed", tc.roster)
		}
		wantIn(t, out, tc.want...)
		srv.Close()
	}

	ej := ejabberd.StartT(t, ejabberd.Options{Roster: "both"})
	cfg, opts := ejabberdConfig(t, ej, true)
	ok, out := run(t, cfg, opts)
	if !ok {
		t.Errorf("ejabberd %s: doctor failed", ej.Version)
	}
	wantIn(t, out, "localhost grants roster both, but runs ejabberd 23.01", "processone/ejabberd#3942", "suggested instead")
}
