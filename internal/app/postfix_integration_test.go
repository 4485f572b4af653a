package app_test

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/postfix"
)

// The LMTP door as operators deploy it: the carrier's relay talks SMTP to
// our Postfix, which relays over LMTP to the service. The service then sees
// every mail come from Postfix on 127.0.0.1 and must judge the sender by
// the Received line Postfix wrote (authserv_id), not by that connection:
// the carrier relay is 127.0.0.2 here, and only it is allowlisted.
func TestPostfixRelaysMailToAvatar(t *testing.T) {
	const carrierRelay = "127.0.0.2"
	e := startWith(t, envOptions{extra: fmt.Sprintf(`
[email]
listen = "127.0.0.1:0"
protocol = "lmtp"
recipients = ["avatar@example.org"]
authserv_id = %q
allowed_relays = [%q]

# Only the relay proof: DKIM and SPF would look up att.net in DNS, and
# this test is about the relay's address reaching us through Postfix.
[[email.carrier]]
domain = "mms.att.net"
auth = ["relay"]
`, postfix.DefaultHostname, carrierRelay)})
	pf := postfix.StartT(t, postfix.Options{
		Routes: map[string]string{"example.org": "lmtp:inet:" + e.srv.EmailAddr().String()},
	})
	host, port, err := net.SplitHostPort(pf.SMTPAddr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()

	// relay sends mail (as from) to Postfix from the local address
	// client, and returns how Postfix's delivery to us went.
	relay := func(client, from, name, mail string) postfix.Delivery {
		t.Helper()
		file := filepath.Join(dir, name)
		if err := os.WriteFile(file, []byte(mail), 0o600); err != nil {
			t.Fatal(err)
		}
		out := swaks(t, "--server", host, "--port", port, "--local-interface", client,
			"--from", from, "--to", "avatar@example.org", "--data", file)
		id, ok := postfix.QueuedAs(out)
		if !ok {
			t.Fatalf("Postfix did not queue %s:\n%s", name, out)
		}
		d, err := pf.WaitDelivery(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s from %s: %s (%s)", name, client, d.Status, d.Detail)
		return d
	}

	d := relay(carrierRelay, "2025550143@mms.att.net", "mms.eml", carrierMail("pf1", mm7sample.Photo(640, 480, 41), "Through Postfix"))
	if d.Status != "sent" || d.To != "avatar@example.org" {
		t.Fatalf("delivery %+v, want sent", d)
	}
	ev := e.nextAvatar()
	if len(ev.Infos) != 1 || ev.Infos[0].Width != 128 {
		t.Fatalf("avatar %+v", ev)
	}

	// An unlinked number: our LMTP answers 550 with the reason, and
	// Postfix bounces with it.
	other := strings.ReplaceAll(carrierMail("pf2", mm7sample.Photo(64, 64, 42), "hi"), "2025550143@", "2025550199@")
	d = relay(carrierRelay, "2025550199@mms.att.net", "unlinked.eml", other)
	if d.Status != "bounced" || !strings.HasPrefix(d.DSN, "5.") || !strings.Contains(d.Detail, "said: 550") || !strings.Contains(d.Detail, "not linked") {
		t.Fatalf("unlinked sender: delivery %+v, want bounced with our 550 and reason", d)
	}

	// A sender elsewhere that forges a Received line from the carrier's
	// relay by our MX: the topmost one is Postfix's own and names the real
	// client, so the mail is refused as unauthenticated.
	forged := "Received: from relay.att.net (relay.att.net [" + carrierRelay + "])\r\n\tby " + postfix.DefaultHostname +
		" (Postfix) with ESMTP id 0000000000; Thu, 26 Nov 2026 09:59:00 +0000\r\n" +
		carrierMail("pf3", mm7sample.Photo(64, 64, 43), "forged")
	d = relay("127.0.0.1", "2025550143@mms.att.net", "forged.eml", forged)
	if d.Status != "bounced" || d.DSN != "5.7.1" || !strings.Contains(d.Detail, "not authenticated") || !strings.Contains(d.Detail, "127.0.0.1") {
		t.Fatalf("forged relay: delivery %+v, want bounced 5.7.1 naming the real client", d)
	}
}
