package publisher

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"mellium.im/xmpp/jid"
	"mellium.im/xmpp/stanza"

	"mmsprofile/outbox"
	"mmsprofile/storage"
	"mmsprofile/storage/sqlite"
	"mmsprofile/storage/storetest"
	"mmsprofile/xmpp/component"
)

// fakeServer records what would have gone to the XMPP server.
type fakeServer struct {
	mu       sync.Mutex
	iqs      []string
	messages []string
	vcard    string
	fail     error
	converts bool
	// perms is what the host granted; the zero value means Prosody's
	// v0.4 with pubsub and vcard-temp.
	perms        component.Perms
	disconnected bool
	// componentGets counts unprivileged vCard reads from the component.
	componentGets int
	// vcard4 is the <vcard/> of the urn:xmpp:vcard4 item, "" for none.
	vcard4 string
	// ejabberd: the server says it is ejabberd (whose conversion makes
	// no vCard4), not Prosody.
	ejabberd bool
	// bounce: every privileged IQ comes back bounced.
	bounce bool
	// roster holds the roster sets, "owner: jid name"; rosterFail is
	// what each one answers instead.
	roster     []string
	rosterFail error
}

func (f *fakeServer) Connected() bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return !f.disconnected
}

func (f *fakeServer) WaitPermissions(ctx context.Context, host string) (component.Perms, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.perms.Version == "" {
		return defaultPerms(), nil
	}
	return f.perms, nil
}

// defaultPerms is what the Prosody of the integration tests grants.
func defaultPerms() component.Perms {
	return component.Perms{Version: component.NSPrivilege, IQ: map[string]string{
		"http://jabber.org/protocol/pubsub": "set", "vcard-temp": "both", "http://jabber.org/protocol/disco#info": "get"}}
}

// IQ answers a vCard get the way ejabberd does for anyone: the stored
// vCard, or an empty one.
// WaitServer says Prosody, or ejabberd when the test says so.
func (f *fakeServer) WaitServer(context.Context, string) (component.Server, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.ejabberd {
		return component.Server{Name: "ejabberd", Version: "26.07"}, nil
	}
	return component.Server{Name: "Prosody"}, nil
}

func (f *fakeServer) IQ(_ context.Context, to jid.JID, typ string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	if typ != "get" || !strings.Contains(string(payload), "vcard-temp") {
		return nil, &component.IQError{Owner: to.String(), Stanza: stanza.Error{Type: "cancel", Condition: "service-unavailable"}}
	}
	f.componentGets++
	if f.vcard == "" {
		return []byte(`<vCard xmlns='vcard-temp'/>`), nil
	}
	return []byte(f.vcard), nil
}

func (f *fakeServer) PrivilegedIQ(_ context.Context, owner jid.JID, typ string, payload []byte) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.fail != nil {
		return nil, f.fail
	}
	if f.bounce {
		f.iqs = append(f.iqs, "bounced "+typ)
		return nil, fmt.Errorf("component: privileged iq for %s: %w", owner, component.ErrBounced)
	}
	p := string(payload)
	if strings.HasPrefix(p, "<pubsub") {
		// The component refuses, without sending, what was not granted.
		perms := f.perms
		if perms.Version == "" {
			perms = defaultPerms()
		}
		if !perms.AllowsIQ("http://jabber.org/protocol/pubsub", typ) {
			return nil, component.ErrNotGranted
		}
	}
	f.iqs = append(f.iqs, typ+" "+p)
	switch {
	case typ == "get" && strings.Contains(p, "urn:xmpp:vcard4"):
		if f.vcard4 == "" {
			return nil, &component.IQError{Inner: true, Stanza: stanza.Error{Type: "cancel", Condition: "item-not-found"}}
		}
		return []byte(`<pubsub xmlns='http://jabber.org/protocol/pubsub'><items node='urn:xmpp:vcard4'><item id='current'>` + f.vcard4 + `</item></items></pubsub>`), nil
	case typ == "set" && pepNode(p) == "urn:xmpp:vcard4":
		f.vcard4 = element(p, "urn:ietf:params:xml:ns:vcard-4.0", "vcard")
	case typ == "get" && strings.Contains(p, "disco#info"):
		if f.converts {
			return []byte(`<query xmlns='http://jabber.org/protocol/disco#info'><feature var='urn:xmpp:pep-vcard-conversion:0'/></query>`), nil
		}
		return []byte(`<query xmlns='http://jabber.org/protocol/disco#info'/>`), nil
	case typ == "get" && strings.Contains(p, "vcard-temp"):
		if f.vcard == "" {
			return nil, &component.IQError{Inner: true, Stanza: stanza.Error{Type: "cancel", Condition: "item-not-found"}}
		}
		return []byte(f.vcard), nil
	case typ == "set" && strings.HasPrefix(p, "<vCard"):
		f.vcard = p
	}
	return nil, nil
}

func (f *fakeServer) SendMessage(_ context.Context, to jid.JID, body string, extra ...[]byte) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.disconnected {
		return component.ErrNotConnected // as the component answers
	}
	if f.fail != nil {
		return f.fail
	}
	f.messages = append(f.messages, to.String()+": "+body)
	for _, x := range extra {
		f.messages = append(f.messages, string(x))
	}
	return nil
}

func (f *fakeServer) RosterSet(_ context.Context, owner jid.JID, items []component.RosterItem) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	perms := f.perms
	if perms.Version == "" {
		perms = defaultPerms()
	}
	if !perms.AllowsRosterSet() {
		return component.ErrNotGranted
	}
	if f.rosterFail != nil {
		f.roster = append(f.roster, "failed")
		return f.rosterFail
	}
	for _, it := range items {
		f.roster = append(f.roster, owner.String()+": "+it.JID+" "+it.Name)
	}
	return nil
}

func setup(t *testing.T, w *fakeServer, repliers map[string]Replier) (*Publisher, storage.Store) {
	t.Helper()
	return setupWith(t, w, repliers, Config{})
}

// setupWith is setup with cfg's fields that are set (the ejabberd API).
func setupWith(t *testing.T, w Writer, repliers map[string]Replier, cfg Config) (*Publisher, storage.Store) {
	t.Helper()
	st, err := sqlite.Open(t.Context(), ":memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	cfg.RetryMin, cfg.RetryMax, cfg.MaxAttempts = time.Second, time.Minute, 3
	p := New(st, w, repliers, cfg, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return p, st
}

func TestAvatarThenVCardPhoto(t *testing.T) {
	w := &fakeServer{vcard: `<vCard xmlns='vcard-temp'><FN>Alice</FN><TEL><NUMBER>1</NUMBER></TEL></vCard>`}
	p, st := setup(t, w, nil)
	a := storetest.MakeAvatar("a", 200)
	status := "at the beach"
	if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "k", JID: "alice@example.org", Number: "+12025550143",
		Avatar: a, Status: status, Received: time.Now(),
		Entries: []storage.Entry{outbox.ChangeEntry("alice@example.org", outbox.Change{Status: &status})}}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	var kinds []string
	for _, iq := range w.iqs {
		switch {
		case pepNode(iq) == "urn:xmpp:avatar:data":
			kinds = append(kinds, "data")
		case pepNode(iq) == "urn:xmpp:avatar:metadata":
			kinds = append(kinds, "metadata")
		case strings.HasPrefix(iq, "set <vCard"):
			kinds = append(kinds, "vcard")
		}
	}
	// The avatar before the profile (a vCard without the new PHOTO could
	// be shown as "no avatar" by a converting server), data before
	// metadata (clients fetch on the event); the vCard is merged once for
	// the photo and once for the status.
	if strings.Join(kinds, ",") != "data,metadata,vcard,vcard" {
		t.Fatalf("order %v", kinds)
	}
	for _, want := range []string{"<FN>Alice</FN>", "<TEL><NUMBER>1</NUMBER></TEL>", "<DESC>at the beach</DESC>", "<BINVAL>", "<TYPE>image/png</TYPE>"} {
		if !strings.Contains(w.vcard, want) {
			t.Errorf("vcard lacks %s:\n%s", want, w.vcard)
		}
	}
	if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 {
		t.Fatalf("%d items left", n.Pending)
	}
}

// When the server converts vCards itself, the avatar goes to PEP only.
func TestConvertingServerGetsNoVCardPhoto(t *testing.T) {
	w := &fakeServer{converts: true}
	p, st := setup(t, w, nil)
	if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "k", JID: "alice@example.org", Number: "+1",
		Avatar: storetest.MakeAvatar("a", 200), Received: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	for _, iq := range w.iqs {
		if strings.Contains(iq, "vCard") {
			t.Fatalf("vcard written although the server converts: %s", iq)
		}
	}
}

func TestNotConnectedCostsNoAttempt(t *testing.T) {
	w := &fakeServer{fail: component.ErrNotConnected}
	p, st := setup(t, w, nil)
	if err := st.Enqueue(t.Context(), outbox.MessageEntry("alice@example.org", "hi")); err != nil {
		t.Fatal(err)
	}
	for range 5 {
		if _, err := p.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	items, _ := st.DueOutbox(t.Context(), time.Now(), storage.Due(10))
	if len(items) != 1 || items[0].Attempts != 0 {
		t.Fatalf("items %+v", items)
	}
	w.fail = nil
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(w.messages) != 1 || w.messages[0] != "alice@example.org: hi" {
		t.Fatalf("messages %q", w.messages)
	}
}

func TestPermanentErrorsFailAtOnce(t *testing.T) {
	w := &fakeServer{fail: &component.IQError{Stanza: stanza.Error{Type: "auth", Condition: "forbidden", Text: map[string]string{"": "not a local user"}}}}
	p, st := setup(t, w, nil)
	if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "k", JID: "gone@example.org", Number: "+1",
		Avatar: storetest.MakeAvatar("a", 10), Received: time.Now()}); err != nil {
		t.Fatal(err)
	}
	var results []Result
	p.OnResult = func(r Result) { results = append(results, r) }
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	failed, err := st.FailedOutbox(t.Context(), 10)
	if err != nil || len(failed) != 1 || !strings.Contains(failed[0].LastError, "forbidden") {
		t.Fatalf("failed %+v, %v", failed, err)
	}
	if len(results) != 1 || !results[0].Final {
		t.Fatalf("results %+v", results)
	}
}

func TestTemporaryErrorsRetryThenGiveUp(t *testing.T) {
	w := &fakeServer{fail: errors.New("connection reset")}
	p, st := setup(t, w, nil)
	if err := st.Enqueue(t.Context(), outbox.MessageEntry("alice@example.org", "hi")); err != nil {
		t.Fatal(err)
	}
	now := time.Now().Add(time.Second)
	p.now = func() time.Time { return now }
	for i := range 3 {
		if _, err := p.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
		now = now.Add(time.Hour) // past any backoff
		if i < 2 {
			if items, _ := st.DueOutbox(t.Context(), now, storage.Due(10)); len(items) != 1 || items[0].Attempts != i+1 {
				t.Fatalf("after attempt %d: %+v", i+1, items)
			}
		}
	}
	if failed, _ := st.FailedOutbox(t.Context(), 10); len(failed) != 1 {
		t.Fatalf("not given up after 3 attempts: %+v", failed)
	}
}

func TestRepliesGoToTheirTransport(t *testing.T) {
	var got []outbox.Reply
	reps := map[string]Replier{"mm7": ReplierFunc(func(_ context.Context, r outbox.Reply) error { got = append(got, r); return nil })}
	p, st := setup(t, &fakeServer{}, reps)
	if err := st.Enqueue(t.Context(),
		outbox.ReplyEntry("", outbox.Reply{Transport: "mm7", To: "+12025550143", Text: "hello"}),
		outbox.ReplyEntry("", outbox.Reply{Transport: "email", To: "x@example.net", Text: "hello"})); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].To != "+12025550143" {
		t.Fatalf("mm7 replies %+v", got)
	}
	failed, _ := st.FailedOutbox(t.Context(), 10)
	if len(failed) != 1 || !strings.Contains(failed[0].LastError, "no way to reply over email") {
		t.Fatalf("email reply without a replier: %+v", failed)
	}
}

// With a public URL, the metadata lists the PNG first (the item's id, in
// the data node), then each rendition by URL; the vCard photo stays the
// PNG. Without one, only the PNG, whatever is stored.
func TestAvatarRenditionsListedByURL(t *testing.T) {
	small, big := storetest.MakeRendition("s", 512, 300), storetest.MakeRendition("b", 1024, 900)
	a := storetest.MakeAvatar("a", 200)
	a.Renditions = []storage.Rendition{big, small}
	type info struct {
		Bytes  int    `xml:"bytes,attr"`
		ID     string `xml:"id,attr"`
		Type   string `xml:"type,attr"`
		Width  int    `xml:"width,attr"`
		Height int    `xml:"height,attr"`
		URL    string `xml:"url,attr"`
	}
	png := info{200, a.ID, "image/png", 128, 128, ""}
	for _, tt := range []struct {
		name, publicURL string
		want            []info
	}{
		{"with public url", "https://xmpp.example.org/mms/", []info{
			png,
			{300, small.ID, "image/jpeg", 512, 512, "https://xmpp.example.org/mms/avatar/" + small.ID + ".jpg"},
			{900, big.ID, "image/jpeg", 1024, 1024, "https://xmpp.example.org/mms/avatar/" + big.ID + ".jpg"},
		}},
		{"without", "", []info{png}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			w := &fakeServer{}
			p, st := setupWith(t, w, nil, Config{PublicURL: tt.publicURL})
			if _, err := st.CommitUpdate(t.Context(), storage.Update{Source: "mm7", Key: "k", JID: "alice@example.org", Number: "+1",
				Avatar: a, Received: time.Now()}); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Drain(t.Context()); err != nil {
				t.Fatal(err)
			}
			var meta string
			for _, iq := range w.iqs {
				if pepNode(iq) == "urn:xmpp:avatar:metadata" {
					meta = iq
				}
			}
			var got struct {
				ID    string `xml:"id,attr"`
				Infos []info `xml:"urn:xmpp:avatar:metadata metadata>info"`
			}
			if err := xml.Unmarshal([]byte(element(meta, "http://jabber.org/protocol/pubsub", "item")), &got); err != nil ||
				got.ID != a.ID || !reflect.DeepEqual(got.Infos, tt.want) {
				t.Fatalf("metadata\n%s\nwant item %s with %+v (%v)", meta, a.ID, tt.want, err)
			}
			if !strings.Contains(w.vcard, "<TYPE>image/png</TYPE>") || strings.Contains(w.vcard, "jpeg") {
				t.Errorf("vcard photo is not the PNG alone:\n%s", w.vcard)
			}
		})
	}
}

func TestRenditionURL(t *testing.T) {
	for _, base := range []string{"https://h.example/p", "https://h.example/p/", "https://h.example/p//"} {
		if got, want := RenditionURL(base, "abc"), "https://h.example/p/avatar/abc.jpg"; got != want {
			t.Errorf("RenditionURL(%q) = %q, want %q", base, got, want)
		}
	}
	if got, want := RenditionURL("http://h.example:8080", "abc"), "http://h.example:8080/avatar/abc.jpg"; got != want {
		t.Errorf("RenditionURL = %q, want %q", got, want)
	}
}

func TestAvatarsFirst(t *testing.T) {
	it := func(id int64, kind, jid string) storage.OutboxItem {
		return storage.OutboxItem{ID: id, Kind: kind, JID: jid}
	}
	in := []storage.OutboxItem{
		it(1, storage.KindProfile, "a@x"),
		it(2, storage.KindMessage, "b@x"),
		it(3, storage.KindProfile, "b@x"),
		it(4, storage.KindProfile, "a@x"),
		it(5, storage.KindAvatar, "b@x"),
		it(6, storage.KindAvatar, "a@x"),
		it(7, storage.KindAvatar, "c@x"),
	}
	var got []int64
	for _, o := range avatarsFirst(in) {
		got = append(got, o.ID)
	}
	want := []int64{6, 1, 5, 2, 3, 4, 7}
	if len(got) != len(want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

// gate is a fakeServer whose privileged IQs and messages first pass
// through hook, outside the fake's lock, so a test can hold them.
type gate struct {
	*fakeServer
	hook func(owner jid.JID) error
}

func (g *gate) PrivilegedIQ(ctx context.Context, owner jid.JID, typ string, payload []byte) ([]byte, error) {
	if err := g.hook(owner); err != nil {
		return nil, err
	}
	return g.fakeServer.PrivilegedIQ(ctx, owner, typ, payload)
}

func (g *gate) SendMessage(ctx context.Context, to jid.JID, body string, extra ...[]byte) error {
	if err := g.hook(to); err != nil {
		return err
	}
	return g.fakeServer.SendMessage(ctx, to, body, extra...)
}

func enqueueStatus(t *testing.T, st storage.Store, account, status string) {
	t.Helper()
	if err := st.Enqueue(t.Context(), outbox.ChangeEntry(account, outbox.Change{Status: &status})); err != nil {
		t.Fatal(err)
	}
}

// Two accounts' privileged IQs are in flight at once: each account's
// first IQ waits until the other's has arrived, which one item after the
// other never does (it times out instead of hanging).
func TestAccountsPublishConcurrently(t *testing.T) {
	var (
		mu      sync.Mutex
		arrived = map[string]bool{}
		both    = make(chan struct{})
	)
	g := &gate{fakeServer: &fakeServer{}}
	g.hook = func(owner jid.JID) error {
		mu.Lock()
		first := !arrived[owner.String()]
		arrived[owner.String()] = true
		if len(arrived) == 2 && first {
			close(both)
		}
		mu.Unlock()
		if !first {
			return nil
		}
		select {
		case <-both:
			return nil
		case <-time.After(2 * time.Second):
			return fmt.Errorf("%s: the other account's IQ never came while this one waited", owner)
		}
	}
	p, st := setupWith(t, g, nil, Config{Concurrency: 4})
	enqueueStatus(t, st, "alice@example.org", "one")
	enqueueStatus(t, st, "bob@example.org", "two")
	var results []Result
	p.OnResult = func(r Result) { results = append(results, r) }
	if _, err := p.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(results) != 2 {
		t.Fatalf("results %+v", results)
	}
	for _, r := range results {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Item.JID, r.Err)
		}
	}
	if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 {
		t.Fatalf("%d items left", n.Pending)
	}
}

// However many accounts are served at once, one account's items go out
// in their order, one at a time.
func TestOneAccountsItemsStayInOrder(t *testing.T) {
	accounts := []string{"a@example.org", "bb@example.org", "ccc@example.org"}
	const per = 40
	var (
		mu       sync.Mutex
		inFlight = map[string]int{}
		overlap  []string
		peak     int
	)
	g := &gate{fakeServer: &fakeServer{}}
	g.hook = func(owner jid.JID) error {
		mu.Lock()
		inFlight[owner.String()]++
		if inFlight[owner.String()] > 1 {
			overlap = append(overlap, owner.String())
		}
		total := 0
		for _, n := range inFlight {
			total += n
		}
		peak = max(peak, total)
		mu.Unlock()
		// Different speeds per account, so the accounts' items interleave
		// differently from the order they were queued in.
		time.Sleep(time.Duration(len(owner.Localpart())*100) * time.Microsecond)
		mu.Lock()
		inFlight[owner.String()]--
		mu.Unlock()
		return nil
	}
	p, st := setupWith(t, g, nil, Config{Concurrency: 16, Batch: 50})
	var entries []storage.Entry
	for i := range per {
		for _, a := range accounts {
			entries = append(entries, outbox.MessageEntry(a, fmt.Sprintf("%s %03d", a, i)))
		}
	}
	if err := st.Enqueue(t.Context(), entries...); err != nil {
		t.Fatal(err)
	}
	var results int
	p.OnResult = func(Result) { results++ } // never called by two at once
	for more := true; more; {
		var err error
		if more, err = p.Drain(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if results != per*len(accounts) {
		t.Fatalf("%d results", results)
	}
	if len(overlap) > 0 {
		t.Fatalf("an account had two items in flight: %v", overlap)
	}
	if peak < 2 {
		t.Errorf("no two accounts were ever served at once")
	}
	got := map[string][]string{}
	for _, m := range g.messages {
		to, body, _ := strings.Cut(m, ": ")
		got[to] = append(got[to], body)
	}
	for _, a := range accounts {
		if len(got[a]) != per {
			t.Fatalf("%s got %d messages", a, len(got[a]))
		}
		for i, body := range got[a] {
			if want := fmt.Sprintf("%s %03d", a, i); body != want {
				t.Fatalf("%s: message %d is %q, want %q (all: %q)", a, i, body, want, got[a])
			}
		}
	}
}

// When the session drops mid-pass, the item in flight is finished and
// marked, the pass ends without more tries, and what was not reached
// stays due with no attempt counted.
func TestNotConnectedMidPassLeavesTheRestDue(t *testing.T) {
	release := make(chan struct{})
	held := make(chan struct{})
	var once sync.Once
	g := &gate{fakeServer: &fakeServer{}}
	g.hook = func(owner jid.JID) error {
		if owner.Localpart() == "alice" {
			once.Do(func() { close(held) })
			<-release
			return nil
		}
		<-held // alice's first IQ is in flight
		return component.ErrNotConnected
	}
	p, st := setupWith(t, g, nil, Config{Concurrency: 4})
	if err := st.Enqueue(t.Context(),
		outbox.MessageEntry("alice@example.org", "first"),
		outbox.MessageEntry("bob@example.org", "hi"),
		outbox.MessageEntry("alice@example.org", "second"),
		outbox.MessageEntry("carol@example.org", "hi")); err != nil {
		t.Fatal(err)
	}
	done := make(chan bool)
	go func() {
		more, err := p.Drain(t.Context())
		if err != nil {
			t.Error(err)
		}
		done <- more
	}()
	<-held
	select {
	case <-done:
		t.Fatal("Drain returned with an item in flight")
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	if more := <-done; more {
		t.Error("more after the session dropped")
	}
	if len(g.messages) != 1 || g.messages[0] != "alice@example.org: first" {
		t.Fatalf("messages %q", g.messages)
	}
	items, _ := st.DueOutbox(t.Context(), time.Now(), storage.Due(10))
	var due []string
	for _, it := range items {
		if it.Attempts != 0 {
			t.Errorf("item %d of %s counted an attempt", it.ID, it.JID)
		}
		due = append(due, it.JID)
	}
	if strings.Join(due, ",") != "bob@example.org,alice@example.org,carol@example.org" {
		t.Fatalf("due %v", due)
	}
}

// RunUntil's stop is honoured between passes only: the items being
// published when it closes are finished and marked done first.
func TestStopWaitsForItemsInFlight(t *testing.T) {
	release := make(chan struct{})
	var started sync.WaitGroup
	started.Add(2)
	g := &gate{fakeServer: &fakeServer{}}
	g.hook = func(jid.JID) error {
		started.Done()
		<-release
		return nil
	}
	p, st := setupWith(t, g, nil, Config{Concurrency: 4, Poll: time.Hour})
	if err := st.Enqueue(t.Context(),
		outbox.MessageEntry("alice@example.org", "hi"),
		outbox.MessageEntry("bob@example.org", "hi")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error)
	go func() { done <- p.RunUntil(t.Context(), stop) }()
	bothStarted := make(chan struct{})
	go func() { started.Wait(); close(bothStarted) }()
	select {
	case <-bothStarted:
	case <-time.After(5 * time.Second):
		close(release)
		t.Fatal("the two accounts' items were not in flight at once")
	}
	close(stop)
	select {
	case err := <-done:
		t.Fatalf("returned with items in flight: %v", err)
	case <-time.After(100 * time.Millisecond):
	}
	close(release)
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("RunUntil did not return after stop")
	}
	if n, _ := st.OutboxStats(t.Context()); n.Pending != 0 {
		t.Fatalf("%d items left pending", n.Pending)
	}
}

// Replies to phones go over MM7 or mail: an XMPP session that is down
// holds back the accounts' items, not them, whatever comes first in the
// outbox and however many accounts are served at once.
func TestRepliesGoOutWithoutASession(t *testing.T) {
	for _, concurrency := range []int{1, 16} {
		t.Run(fmt.Sprint("concurrency=", concurrency), func(t *testing.T) {
			var got []string
			var mu sync.Mutex
			reps := map[string]Replier{"mm7": ReplierFunc(func(_ context.Context, r outbox.Reply) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, r.Text)
				return nil
			})}
			w := &fakeServer{disconnected: true}
			p, st := setupWith(t, w, reps, Config{Concurrency: concurrency})
			if err := st.Enqueue(t.Context(),
				outbox.MessageEntry("alice@example.org", "hi"),
				outbox.MessageEntry("bob@example.org", "hi"),
				outbox.ReplyEntry("", outbox.Reply{Transport: "mm7", To: "+12025550143", Text: "first"}),
				outbox.MessageEntry("carol@example.org", "hi"),
				outbox.ReplyEntry("", outbox.Reply{Transport: "mm7", To: "+12025550143", Text: "second"})); err != nil {
				t.Fatal(err)
			}
			if _, err := p.Drain(t.Context()); err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != "first,second" {
				t.Fatalf("replies sent %q", got)
			}
			items, _ := st.DueOutbox(t.Context(), time.Now(), storage.Due(10))
			var due []string
			for _, it := range items {
				if it.Attempts != 0 {
					t.Errorf("item %d of %s counted an attempt", it.ID, it.JID)
				}
				due = append(due, it.JID)
			}
			if strings.Join(due, ",") != "alice@example.org,bob@example.org,carol@example.org" {
				t.Fatalf("due %v", due)
			}
		})
	}
}

// Each committed MMS wakes the publisher; without a session, those wakes
// do not read the outbox again (the poll does), and a wake once the
// session is up publishes what waited.
func TestWakesWithoutASessionLeaveTheOutboxAlone(t *testing.T) {
	w := &fakeServer{disconnected: true}
	p, st := setupWith(t, w, nil, Config{Poll: time.Hour})
	out := &countingOutbox{Store: st}
	p.out = out
	if err := st.Enqueue(t.Context(), outbox.MessageEntry("alice@example.org", "hi")); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() { done <- p.RunUntil(t.Context(), stop) }()
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("waited 10 s for %s", what)
			}
			time.Sleep(time.Millisecond)
		}
	}
	waitFor("the first pass", func() bool { return out.dueReads.Load() == 1 })
	for range 5 {
		p.Wake()
		waitFor("the wake to be taken", func() bool { return len(p.wake) == 0 })
	}
	// A read the wakes caused would have started by now.
	time.Sleep(50 * time.Millisecond)
	if n := out.dueReads.Load(); n != 1 {
		t.Fatalf("%d outbox reads without a session, want the first pass's 1", n)
	}
	w.mu.Lock()
	w.disconnected = false
	w.mu.Unlock()
	p.Wake()
	waitFor("the message", func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		return len(w.messages) == 1
	})
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
