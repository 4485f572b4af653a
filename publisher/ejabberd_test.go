package publisher

import (
	"bytes"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/xml"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/storage/storetest"
	"mmsprofile/xmpp/component"
	"mmsprofile/xmpp/ejabberdapi"
)

// ejabberd 23.01's advertisement: XEP-0356 v0.2, no IQ permission.
var v1Perms = component.Perms{Version: component.NSPrivilege1, Roster: "get", Message: "outgoing"}

func TestChooseBackend(t *testing.T) {
	v2 := component.Perms{Version: component.NSPrivilege, IQ: map[string]string{"vcard-temp": "both"}}
	v2NoIQ := component.Perms{Version: component.NSPrivilege, Roster: "get"}
	for _, tc := range []struct {
		name    string
		perms   component.Perms
		haveAPI bool
		want    backend
		wantErr bool
	}{
		{"v0.4 with iq", v2, false, backendPrivileged, false},
		{"v0.4 with iq, api configured too", v2, true, backendPrivileged, false},
		{"v0.2 (ejabberd 23.01) with api", v1Perms, true, backendEjabberdAPI, false},
		{"v0.4 without iq, with api", v2NoIQ, true, backendEjabberdAPI, false},
		{"v0.2 without api", v1Perms, false, 0, true},
		{"v0.4 without iq, without api", v2NoIQ, false, 0, true},
	} {
		got, err := chooseBackend("example.org", tc.perms, tc.haveAPI)
		if tc.wantErr {
			var perm *Permanent
			if !errors.As(err, &perm) || !strings.Contains(err.Error(), "[ejabberd] api_url") || !strings.Contains(err.Error(), "example.org") {
				t.Errorf("%s: error %v, want a permanent error naming the host and [ejabberd] api_url", tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("%s: %v, %v; want %v", tc.name, got, err, tc.want)
		}
	}
}

// fakeAPI is ejabberd's mod_http_api as the publisher uses it, storing
// vCards in the fakeServer so the component's vCard get sees them.
type fakeAPI struct {
	srv *fakeServer

	mu    sync.Mutex
	calls []string
	sends []map[string]string
	// status, when set, is the answer to every call.
	status int
	// drop makes send_stanza answer 0 and store nothing, as ejabberd does
	// with a stanza that fails after routing.
	drop bool
}

func (a *fakeAPI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var args map[string]string
	if err := json.NewDecoder(r.Body).Decode(&args); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	cmd := strings.TrimPrefix(r.URL.Path, "/api/")
	a.mu.Lock()
	a.calls = append(a.calls, strings.TrimSpace(cmd+" "+args["name"]+" "+args["subname"]))
	status, drop := a.status, a.drop
	if cmd == "send_stanza" {
		a.sends = append(a.sends, args)
	}
	a.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		w.Write([]byte(`{"status":"error","code":10,"message":"refused"}`))
		return
	}
	switch cmd {
	case "send_stanza":
		if !drop {
			var iq struct {
				VCard struct {
					Inner []byte `xml:",innerxml"`
				} `xml:"vcard-temp vCard"`
			}
			if err := xml.Unmarshal([]byte(args["stanza"]), &iq); err != nil {
				http.Error(w, err.Error(), http.StatusInternalServerError)
				return
			}
			a.srv.mu.Lock()
			a.srv.vcard = "<vCard xmlns='vcard-temp'>" + string(iq.VCard.Inner) + "</vCard>"
			a.srv.mu.Unlock()
		}
		w.Write([]byte("0"))
	case "get_vcard", "get_vcard2":
		a.srv.mu.Lock()
		stored := a.srv.vcard
		a.srv.mu.Unlock()
		if stored == "" {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`"error_no_vcard_found"`))
			return
		}
		v, ok := fieldText(stored, args["name"], args["subname"])
		if !ok {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(`"error_no_value_found_in_vcard"`))
			return
		}
		json.NewEncoder(w).Encode(map[string]string{"content": v})
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// fieldText finds name (and sub) in a vCard by local names.
func fieldText(doc, name, sub string) (string, bool) {
	d := xml.NewDecoder(strings.NewReader(doc))
	var path []string
	var text strings.Builder
	want := []string{"vCard", name}
	if sub != "" {
		want = append(want, sub)
	}
	for {
		tok, err := d.Token()
		if err != nil {
			return "", false
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			path = append(path, tok.Name.Local)
			text.Reset()
		case xml.CharData:
			text.Write(tok)
		case xml.EndElement:
			if strings.Join(path, "/") == strings.Join(want, "/") {
				return text.String(), true
			}
			path = path[:len(path)-1]
		}
	}
}

func (a *fakeAPI) callList() []string {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]string(nil), a.calls...)
}

func setupAPI(t *testing.T, w *fakeServer) (*Publisher, storage.Store, *fakeAPI) {
	t.Helper()
	api := &fakeAPI{srv: w}
	hs := httptest.NewServer(api)
	t.Cleanup(hs.Close)
	w.perms = v1Perms
	p, st := setupWith(t, w, nil, Config{
		EjabberdAPI:    ejabberdapi.Client{URL: hs.URL + "/api", User: "mmsapi@example.org", Password: "pw"},
		ConfirmTimeout: 200 * time.Millisecond,
	})
	return p, st, api
}

// commitMMS stores what one MMS with a photo, a status and a nickname
// leaves in the outbox: an avatar item and a profile item.
func commitMMS(t *testing.T, st storage.Store, key string, a *storage.Avatar) {
	t.Helper()
	status, nick := "at the beach", "Ally"
	if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: key, JID: "alice@example.org", Number: "+12025550143",
		Avatar: a, Status: status, Received: time.Now(),
		Entries: []storage.Entry{outbox.ChangeEntry("alice@example.org", outbox.Change{Status: &status, Nick: &nick})}}); err != nil {
		t.Fatal(err)
	}
}

// On ejabberd 23.01 one MMS becomes one vcard-temp set through
// send_stanza from the bare JID, the client's own fields kept, confirmed
// by the photo's SHA-1; no privileged IQ is tried.
func TestEjabberdAPIOneVCardSet(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'><FN>Alice</FN><TEL><HOME/><NUMBER>1</NUMBER></TEL><X-CUSTOM>mine</X-CUSTOM></vCard>`}
	p, st, api := setupAPI(t, w)
	a := storetest.MakeAvatar("a", 200)
	commitMMS(t, st, "k", a)
	var results []Result
	p.OnResult = func(r Result) { results = append(results, r) }
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(w.iqs) != 0 {
		t.Errorf("privileged IQs sent to a host without IQ permission: %q", w.iqs)
	}
	if len(api.sends) != 1 {
		t.Fatalf("%d send_stanza calls, want 1: %q", len(api.sends), api.callList())
	}
	send := api.sends[0]
	if send["from"] != "alice@example.org" || send["to"] != "alice@example.org" {
		t.Errorf("send_stanza from %q to %q, want the bare JID for both", send["from"], send["to"])
	}
	var iq struct {
		XMLName xml.Name
		Type    string `xml:"type,attr"`
	}
	if err := xml.Unmarshal([]byte(send["stanza"]), &iq); err != nil || iq.XMLName != (xml.Name{Space: "jabber:client", Local: "iq"}) || iq.Type != "set" {
		t.Errorf("stanza %.80s: %v, want an iq set in jabber:client", send["stanza"], err)
	}
	sum := sha1.Sum(a.Data)
	for _, want := range []string{"<FN>Alice</FN>", "<TEL><HOME/><NUMBER>1</NUMBER></TEL>", "<X-CUSTOM>mine</X-CUSTOM>",
		"<DESC>at the beach</DESC>", "<NICKNAME>Ally</NICKNAME>", "<TYPE>image/png</TYPE>", base64.StdEncoding.EncodeToString(a.Data)} {
		if !strings.Contains(w.vcard, want) {
			t.Errorf("stored vCard lacks %s:\n%s", want, w.vcard)
		}
	}
	if got, _ := fieldText(w.vcard, "PHOTO", "BINVAL"); got != base64.StdEncoding.EncodeToString(a.Data) {
		t.Errorf("photo %x, want SHA-1 %s", sha1.Sum([]byte(got)), hex.EncodeToString(sum[:]))
	}
	calls := strings.Join(api.callList(), ",")
	if !strings.Contains(calls, "get_vcard2 PHOTO BINVAL") {
		t.Errorf("write not confirmed by the photo: %s", calls)
	}
	if strings.Contains(calls, "set_vcard") {
		t.Errorf("set_vcard used: %s", calls)
	}
	if len(results) != 2 || !results[0].Final || !results[1].Final || results[0].Err != nil || results[1].Err != nil {
		t.Errorf("results %+v", results)
	}
	if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 || n.Failed != 0 {
		t.Fatalf("outbox %+v", n)
	}

	// The same MMS again changes nothing, so nothing is sent.
	commitMMS(t, st, "k2", a)
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(api.sends) != 1 {
		t.Errorf("an unchanged vCard was written again")
	}
}

// send_stanza answers 200 even when nothing was stored: the item is then
// retried, with a reason that says so.
func TestEjabberdAPIUnconfirmedWriteRetries(t *testing.T) {
	w := &fakeServer{}
	p, st, api := setupAPI(t, w)
	api.drop = true
	commitMMS(t, st, "k", storetest.MakeAvatar("a", 50))
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	items, err := st.DueOutbox(t.Context(), time.Now().Add(time.Hour), storage.Due(10))
	if err != nil || len(items) != 2 {
		t.Fatalf("items %+v, %v", items, err)
	}
	for _, it := range items {
		if it.Attempts != 1 || !strings.Contains(it.LastError, "did not store the vCard") || !strings.Contains(it.LastError, "photo") {
			t.Errorf("item %d: attempts %d, reason %q", it.ID, it.Attempts, it.LastError)
		}
	}
	// ejabberd recovers: the retry lands.
	api.drop = false
	p.now = func() time.Time { return time.Now().Add(time.Hour) }
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 || n.Failed != 0 {
		t.Fatalf("outbox after the retry %+v", n)
	}
}

func TestEjabberdAPIErrors(t *testing.T) {
	for _, tc := range []struct {
		status    int
		permanent bool
		reason    string
	}{
		{http.StatusUnauthorized, true, "api_password"},
		{http.StatusForbidden, true, "api_permissions"},
		{http.StatusNotFound, true, "api_url"},
		{http.StatusInternalServerError, false, "500"},
		{http.StatusServiceUnavailable, false, "503"},
	} {
		w := &fakeServer{}
		p, st, api := setupAPI(t, w)
		api.status = tc.status
		commitMMS(t, st, "k", storetest.MakeAvatar("a", 50))
		if _, err := p.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		failed, _ := st.FailedOutbox(t.Context(), 10)
		due, _ := st.DueOutbox(t.Context(), time.Now().Add(time.Hour), storage.Due(10))
		got := append(failed, due...)
		if tc.permanent && len(failed) != 2 || !tc.permanent && len(due) != 2 {
			t.Errorf("%d: failed %d, due %d; permanent %v", tc.status, len(failed), len(due), tc.permanent)
			continue
		}
		for _, it := range got {
			if !strings.Contains(it.LastError, tc.reason) {
				t.Errorf("%d: reason %q lacks %q", tc.status, it.LastError, tc.reason)
			}
		}
	}
}

// Without the API, a host that grants no IQ permission fails the item at
// once with the config line to add, instead of retrying for days.
func TestNoBackendFailsWithTheFix(t *testing.T) {
	w := &fakeServer{perms: v1Perms}
	p, st := setup(t, w, nil)
	commitMMS(t, st, "k", storetest.MakeAvatar("a", 50))
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	failed, _ := st.FailedOutbox(t.Context(), 10)
	if len(failed) != 2 {
		t.Fatalf("failed %+v", failed)
	}
	for _, it := range failed {
		if !strings.Contains(it.LastError, `[ejabberd] api_url = "http://127.0.0.1:5280/api"`) || it.Attempts != 1 {
			t.Errorf("item %d: attempts %d, reason %q", it.ID, it.Attempts, it.LastError)
		}
	}
	if len(w.iqs) != 0 {
		t.Errorf("privileged IQs tried: %q", w.iqs)
	}
}

// While the component is down nothing can say which backend a host
// needs: the items wait, no attempt is counted.
func TestDisconnectedCostsNoAttemptOnEitherBackend(t *testing.T) {
	w := &fakeServer{disconnected: true}
	p, st, api := setupAPI(t, w)
	commitMMS(t, st, "k", storetest.MakeAvatar("a", 50))
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	items, _ := st.DueOutbox(t.Context(), time.Now(), storage.Due(10))
	if len(items) != 2 || items[0].Attempts != 0 || items[1].Attempts != 0 {
		t.Fatalf("items %+v", items)
	}
	if len(api.callList()) != 0 {
		t.Fatalf("API called while disconnected: %q", api.callList())
	}
}

// A vCard the account's server holds that we cannot parse is not
// overwritten: the item fails, the user's data stays.
func TestEjabberdAPIKeepsUnparsableVCard(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'>` + strings.Repeat("<X>", 40) + strings.Repeat("</X>", 40) + `</vCard>`}
	p, st, api := setupAPI(t, w)
	commitMMS(t, st, "k", storetest.MakeAvatar("a", 50))
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if failed, _ := st.FailedOutbox(t.Context(), 10); len(failed) != 2 {
		t.Fatalf("failed %+v", failed)
	}
	if len(api.sends) != 0 || !bytes.Contains([]byte(w.vcard), []byte("<X><X>")) {
		t.Fatalf("vCard overwritten")
	}
}

// A host that advertises IQ permission and then sends every privileged IQ
// back: the item is retried after the backoff, not at once, and from then
// on the host is written through the HTTP API where one is configured.
func TestBouncingHostSwitchesToTheAPI(t *testing.T) {
	w := &fakeServer{bounce: true}
	p, st, api := setupAPI(t, w)
	w.perms = defaultPerms() // v0.4 with IQ permission
	commitMMS(t, st, "k", storetest.MakeAvatar("a", 50))
	var results []Result
	p.OnResult = func(r Result) { results = append(results, r) }
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(results) == 0 || results[0].Final || !errors.Is(results[0].Err, component.ErrBounced) {
		t.Fatalf("first attempt: %+v", results)
	}
	// One bounce is enough: the profile item of the same pass already
	// goes through the API.
	if n := len(w.iqs); n != 1 || len(api.sends) != 1 {
		t.Errorf("first pass: %d privileged IQs, %d sends; want 1 and 1: %q", n, len(api.sends), w.iqs)
	}
	// The bounced avatar is not due again at once: the backoff holds it.
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := len(w.iqs); n != 1 || len(api.sends) != 1 {
		t.Fatalf("retried at once: %d IQs, %d sends", n, len(api.sends))
	}
	later := time.Now().Add(time.Hour)
	p.now = func() time.Time { return later }
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(api.sends) != 2 || len(w.iqs) != 1 {
		t.Fatalf("after the backoff: %d sends through the API, %d privileged IQs; want 2 and still 1", len(api.sends), len(w.iqs))
	}
	if !strings.Contains(w.vcard, "<BINVAL>") {
		t.Errorf("the avatar did not reach the vCard: %s", w.vcard)
	}
	if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 || n.Failed != 0 {
		t.Fatalf("outbox %+v", n)
	}
}
