package component

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"testing"

	"mellium.im/xmlstream"
	"mellium.im/xmpp/stanza"
)

// TestErrorTokens checks what a handler's error is answered with: its
// stanza.Error, found through wrapping, with the application condition
// WithAppCondition gave it; anything else is internal-server-error.
func TestErrorTokens(t *testing.T) {
	bad := stanza.Error{Type: stanza.Modify, Condition: stanza.BadRequest, Text: map[string]string{"": "no <good>"}}
	app := xml.Name{Space: "http://jabber.org/protocol/commands", Local: "bad-action"}
	for _, tc := range []struct {
		name    string
		err     error
		ours    bool
		want    stanza.Error
		wantApp string
	}{
		{"plain", bad, true, bad, ""},
		{"wrapped", fmt.Errorf("stage: %w", bad), true, bad, ""},
		{"application condition", fmt.Errorf("stage: %w", WithAppCondition(bad, app)), true, bad, "bad-action"},
		{"not a stanza error", errors.New("database gone"), false,
			stanza.Error{Type: stanza.Wait, Condition: stanza.InternalServerError, Text: map[string]string{"": "temporary failure; try again later"}}, ""},
	} {
		r, ours := errorTokens(tc.err)
		var b bytes.Buffer
		e := xml.NewEncoder(&b)
		if _, err := xmlstream.Copy(e, r); err != nil || e.Flush() != nil {
			t.Fatalf("%s: encode: %v", tc.name, err)
		}
		var got stanza.Error
		var appEl struct {
			Found []struct{ XMLName xml.Name } `xml:",any"`
		}
		if err := xml.Unmarshal(b.Bytes(), &got); err != nil {
			t.Fatalf("%s: %s: %v", tc.name, b.Bytes(), err)
		}
		if err := xml.Unmarshal(b.Bytes(), &appEl); err != nil {
			t.Fatal(err)
		}
		gotApp := ""
		for _, f := range appEl.Found {
			if f.XMLName.Space == app.Space {
				gotApp = f.XMLName.Local
			}
		}
		if ours != tc.ours || got.Type != tc.want.Type || got.Condition != tc.want.Condition || got.Text[""] != tc.want.Text[""] || gotApp != tc.wantApp {
			t.Errorf("%s: %s (ours %v), want %+v with %q", tc.name, b.Bytes(), ours, tc.want, tc.wantApp)
		}
	}
}
