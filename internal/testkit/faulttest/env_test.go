package faulttest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/pgtest"
	"mmsprofile/internal/testkit/prosody"
	"mmsprofile/internal/testkit/xmppclient"
)

// account is a linked XMPP account and its phone.
type account struct {
	JID    jid.JID
	Number string
}

// env is a real Prosody with linked accounts and a contact (bob) who
// watches their avatars, a gate on the component link, and a database
// for any number of serve nodes.
type env struct {
	t        testing.TB
	dir      string
	xmpp     *prosody.Server
	gate     *gate
	accounts []account
	bobJID   jid.JID
	bob      *xmppclient.Client
	contact  *contact

	driver, dsn string
	pg          *pgtest.Server // nil with sqlite
	logLevel    string
}

type envOptions struct {
	postgres bool
	accounts int
	// logLevel is serve's log level; "" is debug, which a benchmark
	// would mostly measure the writing of.
	logLevel string
}

var names = []string{"alice", "carol", "dave", "erin", "frank"}

func newEnv(t testing.TB, opts envOptions) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), contact: newContact(), logLevel: opts.logLevel}
	if e.logLevel == "" {
		e.logLevel = "debug"
	}
	if opts.postgres {
		// Before Prosody, so that a missing PostgreSQL skips at once.
		e.pg = pgtest.StartT(t)
		if e.pg.Port() == 0 {
			t.Skip("faulttest needs a PostgreSQL it starts itself (" + pgtest.EnvDSN + " is set)")
		}
		e.driver, e.dsn = "postgres", e.pg.NewDatabaseT(t)
	} else {
		e.driver, e.dsn = "sqlite", filepath.Join(e.dir, "state.db")
	}
	e.xmpp = prosody.StartT(t, prosody.Options{})
	e.gate = newGate(t, e.xmpp.ComponentAddr)

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for _, u := range []string{"bob", "probe"} {
		if err := e.xmpp.Register(ctx, u, "pw-"+u); err != nil {
			t.Fatal(err)
		}
	}
	e.bobJID = jid.MustParse("bob@" + e.xmpp.Domain)
	e.dialBob(ctx)
	t.Cleanup(func() { e.bob.Close() })
	for i := range opts.accounts {
		name := fmt.Sprintf("user%d", i)
		if i < len(names) {
			name = names[i]
		}
		a := account{JID: jid.MustParse(name + "@" + e.xmpp.Domain), Number: fmt.Sprintf("+1202555%04d", 143+i)}
		if err := e.xmpp.Register(ctx, a.JID.Localpart(), "pw-"+a.JID.Localpart()); err != nil {
			t.Fatal(err)
		}
		c, err := xmppclient.Dial(ctx, e.xmpp.C2SAddr, a.JID, "pw-"+a.JID.Localpart(), quietLog())
		if err != nil {
			t.Fatal(err)
		}
		if err := xmppclient.MutualSubscribe(ctx, c, e.bob); err != nil {
			t.Fatal(err)
		}
		// The owner is offline when her MMS arrives; Prosody notifies
		// her contacts all the same.
		c.Close()
		e.accounts = append(e.accounts, a)
	}
	// Links are provisioned the way an operator does, with the binary.
	admin := filepath.Join(e.dir, "admin.toml")
	if err := os.WriteFile(admin, []byte(e.config("", "")), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, a := range e.accounts {
		out, err := exec.CommandContext(ctx, binary(t), "link", "-config", admin, a.JID.String(), a.Number).CombinedOutput()
		if err != nil {
			t.Fatalf("mmsprofile link: %v\n%s", err, out)
		}
	}
	return e
}

// dialBob (re)connects the contact; his events go on being recorded.
func (e *env) dialBob(ctx context.Context) {
	e.t.Helper()
	if e.bob != nil {
		e.bob.Close()
	}
	bob, err := xmppclient.Dial(ctx, e.xmpp.C2SAddr, e.bobJID, "pw-bob", quietLog())
	if err != nil {
		e.t.Fatal(err)
	}
	e.bob = bob
	e.contact.attach(bob)
}

// restartProsody brings Prosody back after Stop, and bob with it.
//
// Prosody 0.12's mod_pep learns what a client wants notifications for by
// asking it (disco#info) the first time it sees its caps hash. When the
// answer is to the client's own query (no 'to'), an "optimisation" also
// makes the client's bare JID a recipient of every contact's PEP service,
// and from then on each notification reaches bob twice (to his full and
// his bare JID, same stanza id): that is the server, not a second publish.
// On a fresh server bob's roster is empty when that happens; after a
// restart it is not. So a client with the same caps and no contacts
// (probe) logs in first and teaches Prosody the hash.
func (e *env) restartProsody(ctx context.Context) {
	e.t.Helper()
	if err := e.xmpp.Restart(ctx); err != nil {
		e.t.Fatal(err)
	}
	probe := jid.MustParse("probe@" + e.xmpp.Domain)
	c, err := xmppclient.Dial(ctx, e.xmpp.C2SAddr, probe, "pw-probe", quietLog())
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	for {
		log, err := e.xmpp.ReadLog()
		if err != nil {
			e.t.Fatal(err)
		}
		if capsAnswered(log, probe.Localpart()) {
			break
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("prosody never asked the probe for its caps: %v", ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
	e.dialBob(ctx)
}

// capsAnswered reports whether Prosody's log shows user's answer to its
// caps query since the last start.
func capsAnswered(log []byte, user string) bool {
	s := string(log)
	for line := range strings.Lines(s) {
		if strings.Contains(line, "Received[c2s]: <iq") && strings.Contains(line, "id='disco'") &&
			strings.Contains(line, "type='result'") && strings.Contains(line, "from='"+user+"@") {
			return true
		}
	}
	return false
}

// bareNotifications counts PEP notifications Prosody sent to bob's bare
// JID: each is a copy of one to his full JID (see restartProsody).
func (e *env) bareNotifications() int {
	log, err := e.xmpp.ReadLog()
	if err != nil {
		e.t.Fatal(err)
	}
	return strings.Count(string(log), "Sending notification to "+e.bobJID.String()+" from")
}

func quietLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// config is a serve configuration on this env; empty listen addresses
// turn the MM7 and ops listeners off.
func (e *env) config(mm7Listen, httpListen string) string {
	return fmt.Sprintf(`
[xmpp]
component = %q
server = %q
secret = %q
domains = [%q]
reconnect_min = "100ms"
reconnect_max = "1s"
iq_timeout = "5s"
[storage]
driver = %q
dsn = %q
connect_timeout = "2s"
statement_timeout = "5s"
[mm7]
listen = %q
path = "/mm7"
username = %q
password = %q
[email]
listen = ""
[http]
listen = %q
[publish]
retry_min = "200ms"
retry_max = "2s"
poll = "1s"
[limits]
updates_per_hour = 100000
[log]
level = %q
`, e.xmpp.Component, e.gate.Addr(), e.xmpp.Secret, e.xmpp.Domain, e.driver, e.dsn,
		mm7Listen, mm7User, mm7Password, httpListen, e.logLevel)
}

// photo is a delivery from a's phone with a picture of its own.
func photo(a account, messageID string, seed uint64) mm7sample.Deliver {
	return mm7sample.Deliver{
		TransactionID: "tx-" + messageID,
		MessageID:     messageID,
		Sender:        a.Number,
		Image:         mm7sample.Photo(320, 240, seed),
	}
}

// update is one committed update row.
type update struct {
	ID       int64
	Key      string
	JID      string
	AvatarID string
}

// deliveryKey is the idempotency key serve gives d: mm7sample sends no
// MessageID element (its MessageID goes into LinkedID), so the key is the
// transaction id.
func deliveryKey(d mm7sample.Deliver) string { return "tx/" + d.TransactionID }

// updates reads every committed update, oldest first, straight from the
// database.
func (e *env) updates(ctx context.Context) []update {
	e.t.Helper()
	var out []update
	err := e.query(ctx, `SELECT id, key, jid, COALESCE(avatar_id, '') FROM updates ORDER BY id`, func(rows scanner) error {
		var u update
		if err := rows.Scan(&u.ID, &u.Key, &u.JID, &u.AvatarID); err != nil {
			return err
		}
		out = append(out, u)
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// outboxStates counts outbox rows by state.
func (e *env) outboxStates(ctx context.Context) map[string]int {
	e.t.Helper()
	out := map[string]int{}
	err := e.query(ctx, `SELECT state, COUNT(*) FROM outbox GROUP BY state`, func(rows scanner) error {
		var s string
		var n int
		if err := rows.Scan(&s, &n); err != nil {
			return err
		}
		out[s] = n
		return nil
	})
	if err != nil {
		e.t.Fatal(err)
	}
	return out
}

// WaitOutboxDrained waits until no outbox row is pending, and fails t if
// any failed or a minute passes.
func (e *env) WaitOutboxDrained() {
	e.t.Helper()
	e.waitOutboxDrained(time.Minute)
}

func (e *env) waitOutboxDrained(max time.Duration) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), max)
	defer cancel()
	for {
		st := e.outboxStates(ctx)
		if st["pending"] == 0 {
			if st["failed"] > 0 {
				e.t.Errorf("outbox: %d items failed for good (%v)", st["failed"], st)
			}
			return
		}
		select {
		case <-ctx.Done():
			e.t.Fatalf("outbox never drained: %v", st)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

type scanner interface{ Scan(...any) error }

// query runs a read-only query on the env's database, from outside any
// serve process.
func (e *env) query(ctx context.Context, q string, row func(scanner) error) error {
	if e.driver == "postgres" {
		conn, err := pgx.Connect(ctx, e.dsn)
		if err != nil {
			return err
		}
		defer conn.Close(context.WithoutCancel(ctx))
		rows, err := conn.Query(ctx, q)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			if err := row(rows); err != nil {
				return err
			}
		}
		return rows.Err()
	}
	return querySQLite(ctx, e.dsn, q, row)
}
