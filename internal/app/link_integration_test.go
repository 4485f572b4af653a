package app_test

import (
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/xmppclient"
)

// fakeMMSC takes SubmitReq replies to phones the way an MMSC does, and
// keeps them for the test to read.
type fakeMMSC struct {
	srv *httptest.Server
	mu  sync.Mutex
	got []string
	new chan string
}

func newFakeMMSC(t testing.TB) *fakeMMSC {
	f := &fakeMMSC{new: make(chan string, 32)}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		if !strings.Contains(string(body), "SubmitReq") {
			http.Error(w, "not a SubmitReq", http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.got = append(f.got, string(body))
		n := len(f.got)
		f.mu.Unlock()
		f.new <- string(body)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprintf(w, `<?xml version="1.0"?><env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Header><mm7:TransactionID xmlns:mm7="%[1]s" env:mustUnderstand="1">t%[2]d</mm7:TransactionID></env:Header><env:Body><SubmitRsp xmlns="%[1]s"><MM7Version>6.8.0</MM7Version><Status><StatusCode>1000</StatusCode><StatusText>Success</StatusText></Status><MessageID>reply-%[2]d</MessageID></SubmitRsp></env:Body></env:Envelope>`,
			mm7sample.Namespace, n)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

// next waits for the next reply to a phone and returns its SubmitReq.
func (f *fakeMMSC) next(t testing.TB) string {
	t.Helper()
	select {
	case b := <-f.new:
		return b
	case <-time.After(30 * time.Second):
		t.Fatal("no reply reached the MMSC")
	}
	return ""
}

// command runs one stage of an ad-hoc command from a real client session.
func command(t *testing.T, c *xmppclient.Client, to jid.JID, node, sessionID, action string, fields map[string]string) (status, sid string, notes []string, form map[string]string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	var b strings.Builder
	fmt.Fprintf(&b, `<command xmlns='http://jabber.org/protocol/commands' node='%s'`, node)
	if sessionID != "" {
		fmt.Fprintf(&b, ` sessionid='%s'`, sessionID)
	}
	if action != "" {
		fmt.Fprintf(&b, ` action='%s'`, action)
	}
	b.WriteString(">")
	if fields != nil {
		b.WriteString(`<x xmlns='jabber:x:data' type='submit'>`)
		for k, v := range fields {
			fmt.Fprintf(&b, `<field var='%s'><value>%s</value></field>`, k, v)
		}
		b.WriteString(`</x>`)
	}
	b.WriteString(`</command>`)
	typ, payload, err := c.IQ(ctx, to, "set", []byte(b.String()))
	if err != nil {
		t.Fatal(err)
	}
	if typ != "result" {
		t.Fatalf("command %s: answer %s: %s", node, typ, payload)
	}
	var out struct {
		Status    string   `xml:"status,attr"`
		SessionID string   `xml:"sessionid,attr"`
		Notes     []string `xml:"note"`
		X         struct {
			Fields []struct {
				Var    string   `xml:"var,attr"`
				Values []string `xml:"value"`
			} `xml:"field"`
		} `xml:"x"`
	}
	if err := xml.Unmarshal(payload, &out); err != nil {
		t.Fatalf("command answer %s: %v", payload, err)
	}
	form = map[string]string{}
	for _, f := range out.X.Fields {
		form[f.Var] = strings.Join(f.Values, "\n")
	}
	return out.Status, out.SessionID, out.Notes, form
}

func nextChat(t *testing.T, c *xmppclient.Client, from jid.JID) string {
	t.Helper()
	for {
		select {
		case m := <-c.Chats():
			if m.From.Bare().Equal(from) {
				return m.Body
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no chat message arrived")
		}
	}
}

var codeRe = regexp.MustCompile(`LINK (\d{6,8})`)

// A person links a phone from a standard client (the form says
// everything), sends a photo from it, sees the avatar change, and unlinks.
func TestLinkPhoneFromClient(t *testing.T) {
	mmsc := newFakeMMSC(t)
	e := startWith(t, envOptions{unlinked: true, submitURL: mmsc.srv.URL})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	alice := e.xmpp.dial(ctx, t, "alice", testLogger(t))
	defer alice.Close()
	comp := jid.MustParse(e.xmpp.Component)

	// The commands are discoverable.
	typ, items, err := alice.IQ(ctx, comp, "get", []byte(`<query xmlns='http://jabber.org/protocol/disco#items' node='http://jabber.org/protocol/commands'/>`))
	if err != nil || typ != "result" || !strings.Contains(string(items), "Link a phone number") {
		t.Fatalf("command list: %s %s %v", typ, items, err)
	}

	// Before linking, the phone is told how to link, and refused.
	photo := mm7sample.Photo(320, 240, 9)
	if code, status := e.post(mm7sample.Deliver{TransactionID: "t0", MessageID: "m0", Sender: aliceNumber, Image: photo}); code != 200 || status != "2003" {
		t.Fatalf("unlinked phone: HTTP %d status %s", code, status)
	}
	if r := mmsc.next(t); !strings.Contains(r, "Link a phone number") || !strings.Contains(r, "12025550143") {
		t.Fatalf("reply to an unknown phone:\n%s", r)
	}

	// Link from the client: a form, then the code.
	status, sid, _, _ := command(t, alice, comp, "link", "", "", nil)
	if status != "executing" || sid == "" {
		t.Fatalf("link: status %q session %q", status, sid)
	}
	status, _, notes, _ := command(t, alice, comp, "link", sid, "complete", map[string]string{"number": "not a number"})
	if status != "executing" || len(notes) == 0 || !strings.Contains(notes[0], "not a phone number") {
		t.Fatalf("bad number: status %q notes %q", status, notes)
	}
	status, _, notes, form := command(t, alice, comp, "link", sid, "complete", map[string]string{"number": "+1 202 555 0143"})
	if status != "completed" || len(notes) == 0 {
		t.Fatalf("link: status %q notes %q", status, notes)
	}
	m := codeRe.FindStringSubmatch(form["code"])
	if m == nil || !strings.Contains(notes[0], "LINK "+m[1]) || !strings.Contains(notes[0], "12345") {
		t.Fatalf("instructions %q, form %v", notes, form)
	}
	code := m[1]

	// The phone sends the code: linked, and both sides are told.
	e.accept("code", mm7sample.Deliver{TransactionID: "t1", MessageID: "m1", Sender: aliceNumber, Text: "link " + code})
	if r := mmsc.next(t); !strings.Contains(r, "Linked to alice@") {
		t.Fatalf("reply to the code:\n%s", r)
	}
	if msg := nextChat(t, alice, comp); !strings.Contains(msg, "is now linked") {
		t.Fatalf("chat to the account: %q", msg)
	}

	// A photo from the phone becomes the avatar; the account hears of it.
	e.accept("photo", mm7sample.Deliver{TransactionID: "t2", MessageID: "m2", Sender: aliceNumber, Image: photo, Text: "Linked!"})
	ev := e.nextAvatar()
	if len(ev.Infos) != 1 || ev.Infos[0].Width != 128 {
		t.Fatalf("avatar event %+v", ev)
	}
	if msg := nextChat(t, alice, comp); !strings.Contains(msg, "updated from +1 202-555-0143") {
		t.Fatalf("update notification: %q", msg)
	}

	// My link shows it.
	status, _, _, form = command(t, alice, comp, "mylink", "", "", nil)
	if status != "completed" || !strings.Contains(form["number0"], "+1 202-555-0143") || !strings.Contains(form["recent"], "avatar") {
		t.Fatalf("my link: %q %v", status, form)
	}

	// Chat works for clients without commands.
	if err := alice.SendChat(ctx, comp, "status"); err != nil {
		t.Fatal(err)
	}
	if msg := nextChat(t, alice, comp); !strings.Contains(msg, "Linked: +1 202-555-0143") {
		t.Fatalf("chat status: %q", msg)
	}

	// Unlink: confirmed in a form; afterwards the phone changes nothing.
	status, sid, _, _ = command(t, alice, comp, "unlink", "", "", nil)
	if status != "executing" {
		t.Fatalf("unlink: %q", status)
	}
	status, _, notes, _ = command(t, alice, comp, "unlink", sid, "complete", map[string]string{"confirm": "1"})
	if status != "completed" || len(notes) == 0 || !strings.Contains(notes[0], "Unlinked +1 202-555-0143") {
		t.Fatalf("unlink: %q %q", status, notes)
	}
	if c, s := e.post(mm7sample.Deliver{TransactionID: "t3", MessageID: "m3", Sender: aliceNumber, Image: photo}); c != 200 || s != "2003" {
		t.Fatalf("after unlink: HTTP %d status %s", c, s)
	}
}
