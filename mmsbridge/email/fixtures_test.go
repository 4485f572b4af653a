package email

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type fixtureExpect struct {
	SenderNumber string   `json:"sender_number"`
	Subject      string   `json:"subject"`
	Text         []string `json:"text"`
	Attachments  []struct {
		Role        string `json:"role"`
		ContentType string `json:"content_type"`
		SHA256      string `json:"sha256"`
	} `json:"attachments"`
	IgnoredParts []struct {
		SHA256 string `json:"sha256"`
	} `json:"ignored_parts"`
	Authenticity struct {
		ConnectingIP string `json:"connecting_ip"`
		Verdict      string `json:"verdict"`
	} `json:"authenticity"`
}

func fixtureNames(t *testing.T, dir, ext string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*"+ext))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures in %s: %v", dir, err)
	}
	return names
}

func TestFixtures(t *testing.T) {
	for _, eml := range fixtureNames(t, "testdata/email", ".eml") {
		name := strings.TrimSuffix(filepath.Base(eml), ".eml")
		t.Run(name, func(t *testing.T) {
			var want fixtureExpect
			readJSON(t, strings.TrimSuffix(eml, ".eml")+".expect.json", &want)
			raw, err := os.ReadFile(eml)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Extract(bytes.NewReader(raw), Limits{})
			if err != nil {
				t.Fatalf("Extract: %v", err)
			}
			if m.Sender != want.SenderNumber {
				t.Errorf("sender %q, want %q", m.Sender, want.SenderNumber)
			}
			if m.Subject != want.Subject {
				t.Errorf("subject %q, want %q", m.Subject, want.Subject)
			}
			if got, w := normText(m.Text()), normText(strings.Join(want.Text, "\n")); got != w {
				t.Errorf("text %q, want %q", got, w)
			}
			if m.Key == "" || m.MessageID == "" {
				t.Errorf("key %q message-id %q", m.Key, m.MessageID)
			}
			got := map[string]string{}
			for _, p := range m.Parts {
				got[sha(p.Data)] = p.ContentType
			}
			for _, a := range want.Attachments {
				switch a.Role {
				case "image", "vcard":
					ct, ok := got[a.SHA256]
					if !ok {
						t.Errorf("%s %s not extracted", a.Role, a.ContentType)
					} else if ct != a.ContentType {
						t.Errorf("%s content type %q, want %q", a.Role, ct, a.ContentType)
					}
				case "smil":
					if _, ok := got[a.SHA256]; ok {
						t.Errorf("SMIL taken as content")
					}
				}
			}
			for _, j := range want.IgnoredParts {
				if _, ok := got[j.SHA256]; ok {
					t.Errorf("carrier junk %s… taken", j.SHA256[:12])
				}
			}
			if n := len(m.Images()) + len(m.VCards()); n != countRoles(want, "image", "vcard") {
				t.Errorf("%d images+vcards, want %d", n, countRoles(want, "image", "vcard"))
			}
		})
	}
}

func countRoles(e fixtureExpect, roles ...string) int {
	n := 0
	for _, a := range e.Attachments {
		for _, r := range roles {
			if a.Role == r {
				n++
			}
		}
	}
	return n
}

func TestBadFixtures(t *testing.T) {
	for _, eml := range fixtureNames(t, "testdata/bad", ".eml") {
		t.Run(filepath.Base(eml), func(t *testing.T) {
			raw, err := os.ReadFile(eml)
			if err != nil {
				t.Fatal(err)
			}
			m, err := Extract(bytes.NewReader(raw), Limits{})
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("Extract = %v, %v; want ErrMalformed", m, err)
			}
			if o := outcomeFor(err); o.smtp == nil || o.smtp.Code != 554 || o.smtp.EnhancedCode != [3]int{5, 6, 0} || o.exit != ExitDataErr {
				t.Errorf("outcome %+v, want 554 5.6.0 exit 65", o.smtp)
			}
		})
	}
}
