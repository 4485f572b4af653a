package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	path := filepath.Join(dir, "mmsprofile.toml")
	raw := fmt.Sprintf(`[xmpp]
component = "mms.example.org"
secret = "s"
domains = ["example.org"]
[storage]
dsn = %q
[mm7]
username = "relay"
password = "pw"
[profile]
default_country_code = "1"
`, filepath.Join(dir, "state.db"))
	if err := os.WriteFile(path, []byte(raw), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func mmsprofile(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

// An operator's day: check the file, link, list, audit, unlink.
func TestOperatorCommands(t *testing.T) {
	cfg := writeConfig(t)
	steps := []struct {
		args     []string
		code     int
		contains string
	}{
		{[]string{"check-config", "-config", cfg}, 0, "configuration ok"},
		{[]string{"migrate", "-config", cfg}, 0, "schema is at version"},
		{[]string{"link", "-config", cfg, "alice@example.org", "(202) 555-0143"}, 0, "linked +12025550143 to alice@example.org"},
		{[]string{"link", "-config", cfg, "bob@example.org", "+12025550143"}, 1, "already linked to another account"},
		{[]string{"link", "-config", cfg, "mallory@elsewhere.net", "+12025550199"}, 1, "not in xmpp.domains"},
		{[]string{"link", "-config", cfg, "alice@example.org/phone", "+12025550199"}, 1, "bare JID"},
		{[]string{"link", "-config", cfg, "bob@example.org", "12"}, 1, "not a phone number"},
		{[]string{"links", "-config", cfg}, 0, "alice@example.org  +12025550143"},
		{[]string{"links", "-config", cfg, "-jid", "bob@"}, 0, "JID"},
		{[]string{"audit", "-config", cfg}, 0, "cli"},
		{[]string{"unlink", "-config", cfg, "+1 202 555 0143"}, 0, "unlinked +12025550143 from alice@example.org"},
		{[]string{"unlink", "-config", cfg, "alice@example.org"}, 1, "no link"},
		{[]string{"version"}, 0, "mmsprofile"},
		{[]string{"link", "alice@example.org"}, 2, "-config FILE is required"},
		{[]string{"frobnicate"}, 2, "unknown command"},
	}
	for _, s := range steps {
		code, out, errOut := mmsprofile(t, s.args...)
		if code != s.code || !strings.Contains(out+errOut, s.contains) {
			t.Errorf("mmsprofile %s: exit %d, output %q%q; want exit %d containing %q",
				strings.Join(s.args, " "), code, out, errOut, s.code, s.contains)
		}
	}
	// The listing filtered to bob shows no alice.
	_, out, _ := mmsprofile(t, "links", "-config", cfg, "-jid", "bob@")
	if strings.Contains(out, "alice") {
		t.Errorf("filtered listing shows alice:\n%s", out)
	}
}

func TestCheckConfigNamesTheProblem(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.toml")
	os.WriteFile(path, []byte("[xmpp]\ncomponent = \"mms.example.org\"\n[avatar]\nsize = 3\n"), 0o600)
	code, _, errOut := mmsprofile(t, "check-config", "-config", path)
	for _, want := range []string{"xmpp.secret", "xmpp.domains", "avatar.size 3"} {
		if code != 1 || !strings.Contains(errOut, want) {
			t.Errorf("exit %d, stderr %q: want %q", code, errOut, want)
		}
	}
}

func TestIngestEmailUsageIsEXUsage(t *testing.T) {
	code, _, _ := mmsprofile(t, "ingest-email", "-nonsense")
	if code != exUsage {
		t.Fatalf("exit %d, want %d", code, exUsage)
	}
}

// Renditions are checked once public_url asks for them.
func TestCheckConfigRenditions(t *testing.T) {
	cfg := writeConfig(t)
	raw, err := os.ReadFile(cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		extra, want string
		code        int
	}{
		{"[http]\npublic_url = \"https://xmpp.example.org/mms\"\n", "configuration ok", 0},
		{"[http]\npublic_url = \"https://xmpp.example.org/mms\"\n[avatar]\nrenditions = [64]\n", "avatar.renditions: 64", 1},
		{"[http]\npublic_url = \"xmpp.example.org/mms\"\n", "http.public_url", 1},
	} {
		if err := os.WriteFile(cfg, append(append([]byte{}, raw...), tc.extra...), 0o600); err != nil {
			t.Fatal(err)
		}
		code, out, errOut := mmsprofile(t, "check-config", "-config", cfg)
		if code != tc.code || !strings.Contains(out+errOut, tc.want) {
			t.Errorf("%q: exit %d, output %q%q; want exit %d containing %q", tc.extra, code, out, errOut, tc.code, tc.want)
		}
	}
}

// The man page is written from the flag definitions the commands parse
// with: a flag added to a command shows there without anyone remembering.
func TestManPage(t *testing.T) {
	code, out, _ := mmsprofile(t, "man")
	if code != 0 {
		t.Fatalf("man: exit %d", code)
	}
	if !strings.HasPrefix(out, ".TH MMSPROFILE 8 ") {
		t.Errorf("man: no .TH header:\n%s", out)
	}
	for _, want := range []string{`.B "serve \-config FILE"`, `.B "ingest\-email`, `.BI \-client\-ip`, `.BI \-jid`, `.BI \-n " INT"`, "(default 50)"} {
		if !strings.Contains(out, want) {
			t.Errorf("man: %q missing", want)
		}
	}
	for _, c := range commands {
		if !strings.Contains(out, `.B "`+roff(c.name)) {
			t.Errorf("man: command %s missing", c.name)
		}
	}
	if code, out, _ := mmsprofile(t, "help"); code != 0 || !strings.Contains(out, "  ingest-email -config FILE") {
		t.Errorf("help: exit %d:\n%s", code, out)
	}
}

func TestBashCompletion(t *testing.T) {
	code, out, _ := mmsprofile(t, "completion")
	if code != 0 {
		t.Fatalf("completion: exit %d", code)
	}
	for _, want := range []string{`links) flags="-config -jid -number" ;;`, `compgen -W "serve check-config `, "complete -o filenames -F _mmsprofile mmsprofile"} {
		if !strings.Contains(out, want) {
			t.Errorf("completion: %q missing:\n%s", want, out)
		}
	}
}
