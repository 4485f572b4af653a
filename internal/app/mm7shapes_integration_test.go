package app_test

import (
	"net/http"
	"testing"
)

// Each content shape an MMSC sends (related with SMIL and base64, mixed
// with binary parts, a single part without start, a vCard carrying a
// photo, UTF-8 text with a Chinese subject) ends as the avatar at a
// contact's client. The requests are the MM7 package's fixtures, sent as
// the MMSC sent them.
func TestMM7ContentShapesEndAsAvatar(t *testing.T) {
	tests := []struct {
		fixture string
		sender  string
	}{
		{"01-rel6-related-smil-jpeg-text-base64", "+12025550143"},
		{"02-rel5-mixed-binary-jpeg-mbuni-style", "+13105550178"},
		{"03-rel5-single-png-no-smil-no-start", "+14155550132"},
		{"04-rel5-vcard-with-photo", "+12025550143"},
		{"08-utf8-chinese-subject-and-text", "+8613800000001"},
	}
	e := start(t)
	// Provisioning beside the running service, as the CLI would.
	e.link(t.Context(), "+13105550178", "+14155550132", "+8613800000001")

	for _, tc := range tests {
		t.Run(tc.fixture, func(t *testing.T) {
			code, status := e.postFixture(t, fixture(tc.fixture))
			if code != http.StatusOK || status != "1000" {
				t.Fatalf("HTTP %d status %q", code, status)
			}
			ev := e.nextAvatar()
			if len(ev.Infos) != 1 || ev.Infos[0].Type != "image/png" || ev.Infos[0].Width != 128 {
				t.Fatalf("avatar %+v", ev)
			}
		})
	}
}

// Delivery reports and read replies for our replies are taken and
// recorded, not refused as unknown operations.
func TestMM7ReportsAreTaken(t *testing.T) {
	e := start(t)
	for _, f := range []string{"09-delivery-report-req", "10-read-reply-req"} {
		code, status := e.postFixture(t, fixture(f))
		if code != http.StatusOK || status != "1000" {
			t.Errorf("%s: HTTP %d status %q", f, code, status)
		}
	}
}
