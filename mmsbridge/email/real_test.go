package email

import (
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// realEntry is one message of testdata/real/INDEX.json (captures from the
// mms2r project; see testdata/real/LICENSE).
type realEntry struct {
	CarrierDomain string  `json:"carrier_domain"`
	SenderNumber  *string `json:"sender_number"`
	UserText      *string `json:"user_text"`
	UserTextMatch *string `json:"user_text_match"`
	UserTextHTML  *string `json:"user_text_html_only"`
	UserSubject   *string `json:"user_subject"`
	UserImages    int     `json:"user_images"`
	UserVideos    int     `json:"user_videos"`
	Malformed     string  `json:"malformed"`
	Parts         []struct {
		ContentType string `json:"content_type"`
		Path        string `json:"path"`
		Role        string `json:"role"`
		SHA256      string `json:"sha256"`
	} `json:"parts"`
}

// senderNotClaimed lists captures whose index number comes from a personal
// mail domain (a BlackBerry relaying through example.com, yahoo.com): such
// senders map to a number only through an e-mail link, never by guessing.
var senderNotClaimed = map[string]string{
	"att-blackberry.mail":        "example.com is not a carrier",
	"tmobile-blackberry.mail":    "example.com is not a carrier",
	"tmobile-blackberry-02.mail": "example.com is not a carrier",
	"verizon-blackberry.mail":    "yahoo.com is not a carrier",
}

func TestRealCaptures(t *testing.T) {
	var index map[string]realEntry
	readJSON(t, "testdata/real/INDEX.json", &index)
	if len(index) != 92 {
		t.Fatalf("INDEX.json has %d entries, want 92", len(index))
	}
	names := make([]string, 0, len(index))
	for n := range index {
		names = append(names, n)
	}
	sort.Strings(names)
	tab, err := compileCarriers(DefaultCarriers())
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range names {
		e := index[name]
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(filepath.Join("testdata/real", name))
			if err != nil {
				t.Fatal(err)
			}
			x, err := extract(raw, Limits{}, tab, "")
			if err != nil {
				t.Fatalf("extract: %v (malformed: %q)", err, e.Malformed)
			}
			m := x.msg
			want := map[string]bool{}
			junk := map[string]bool{}
			for _, p := range e.Parts {
				switch p.Role {
				case "user-image":
					want[p.SHA256] = true
				case "junk":
					junk[p.SHA256] = true
				}
			}
			got := map[string]bool{}
			videos := 0
			for _, p := range m.Parts {
				s := sha(p.Data)
				if junk[s] && !want[s] {
					t.Errorf("carrier junk taken: %s %q %q", p.ContentType, p.Filename, p.ContentID)
				}
				switch {
				case p.IsImage():
					got[s] = true
					if !want[s] {
						t.Errorf("image %s %q %q (%d bytes) is not the user's", p.ContentType, p.Filename, p.ContentID, len(p.Data))
					}
				case strings.HasPrefix(p.ContentType, "video/"):
					videos++
				}
			}
			for s := range want {
				if !got[s] {
					t.Errorf("user image %s… not found", s[:12])
				}
			}
			if len(got) != len(want) || videos != e.UserVideos {
				t.Errorf("images %d videos %d, want %d %d", len(got), videos, len(want), e.UserVideos)
			}
			text := normText(m.Text())
			switch {
			case e.UserText != nil:
				w := normText(*e.UserText)
				if text != w && (e.UserTextMatch == nil || !strings.Contains(text, *e.UserTextMatch)) {
					t.Errorf("text %q, want %q", text, w)
				}
			case e.UserTextHTML != nil:
				// The words are only in the carrier's HTML template: either
				// leaving them there or finding them is right.
				if text != "" && !strings.Contains(text, *e.UserTextHTML) {
					t.Errorf("text %q, want empty or %q", text, *e.UserTextHTML)
				}
			case text != "":
				t.Errorf("text %q, want none", text)
			}
			wantSubj := ""
			if e.UserSubject != nil {
				wantSubj = *e.UserSubject
			}
			if m.Subject != wantSubj {
				t.Errorf("subject %q, want %q", m.Subject, wantSubj)
			}
			if e.SenderNumber != nil && senderNotClaimed[name] == "" && m.Sender != *e.SenderNumber {
				t.Errorf("sender %q, want %q", m.Sender, *e.SenderNumber)
			}
		})
	}
}
