// Command demo shows the whole path once on this machine: a throwaway
// Prosody (or ejabberd, -server ejabberd), mmsprofile serve on embedded
// SQLite, one MMS with a photo from a linked number, over MM7 or (-intake
// twilio) through a fake Twilio that signs its webhook and serves the
// photo behind its API, and what a contact's client received.
package main

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"mellium.im/xmpp/jid"

	"mmsprofile/internal/testkit/mm7sample"
	"mmsprofile/internal/testkit/webhooktest"
	"mmsprofile/internal/testkit/xmppclient"
)

const (
	number   = "+12025550143"
	mm7User  = "mmsc-relay"
	mm7Pass  = "demo-relay-password"
	password = "demo-password"
)

func main() {
	bin := flag.String("bin", "bin/mmsprofile", "the mmsprofile binary")
	server := flag.String("server", "prosody", "the XMPP server to run: prosody or ejabberd")
	intake := flag.String("intake", "mm7", "how the MMS arrives: mm7 or twilio")
	flag.Parse()
	if *intake != "mm7" && *intake != "twilio" {
		fmt.Fprintf(os.Stderr, "demo: unknown intake %q (mm7 or twilio)\n", *intake)
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx, *bin, *server, *intake); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

func step(format string, args ...any) { fmt.Printf("==> "+format+"\n", args...) }

func run(ctx context.Context, bin, server, intake string) error {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return err
	}
	started := time.Now()
	xs, err := startServer(ctx, server)
	if err != nil {
		return err
	}
	defer xs.close()
	step("%s on %s (component port %s), component %s", xs.name, xs.C2SAddr, xs.ComponentAddr, xs.Component)
	for _, u := range []string{"alice", "bob"} {
		if err := xs.register(ctx, u, password); err != nil {
			return err
		}
	}
	alice := jid.MustParse("alice@" + xs.Domain)
	bob := jid.MustParse("bob@" + xs.Domain)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ac, err := xmppclient.Dial(ctx, xs.C2SAddr, alice, password, quiet)
	if err != nil {
		return err
	}
	bc, err := xmppclient.Dial(ctx, xs.C2SAddr, bob, password, quiet)
	if err != nil {
		return err
	}
	defer bc.Close()
	if err := xs.subscribe(ctx, ac, bc); err != nil {
		return err
	}
	if xs.ownerOnline {
		defer ac.Close()
		step("accounts %s and %s are contacts and online (%s sends PEP events through the owner's session)", alice, bob, xs.name)
	} else {
		ac.Close()
		step("accounts %s and %s are contacts; bob is online, alice is not", alice, bob)
	}

	dir, err := os.MkdirTemp("", "mmsprofile-demo-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	mm7Addr, err := freeAddr()
	if err != nil {
		return err
	}
	httpAddr, err := freeAddr()
	if err != nil {
		return err
	}
	hookAddr, err := freeAddr()
	if err != nil {
		return err
	}
	var twilio *webhooktest.Twilio
	if intake == "twilio" {
		twilio = webhooktest.NewTwilio()
		defer twilio.Close()
	}
	cfgPath := filepath.Join(dir, "mmsprofile.toml")
	cfg := fmt.Sprintf(`[xmpp]
component = %q
server = %q
secret = %q
domains = [%q]
reconnect_min = "200ms"

[storage]
driver = "sqlite"
dsn = %q

[mm7]
listen = %q
path = "/mm7"
username = %q
password = %q

[email]
listen = ""

[http]
listen = %q
%s%s`, xs.Component, xs.ComponentAddr, xs.Secret, xs.Domain, filepath.Join(dir, "state.db"), mm7Addr, mm7User, mm7Pass, httpAddr, xs.config,
		twilioConfig(twilio, hookAddr))
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	out, err := exec.CommandContext(ctx, bin, "link", "-config", cfgPath, alice.String(), number).CombinedOutput()
	if err != nil {
		return fmt.Errorf("mmsprofile link: %v: %s", err, out)
	}
	step("mmsprofile link: %s", bytes.TrimSpace(out))

	var logBuf bytes.Buffer
	serve := exec.Command(bin, "serve", "-config", cfgPath)
	serve.Stdout, serve.Stderr = &logBuf, &logBuf
	if err := serve.Start(); err != nil {
		return err
	}
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
	}()
	if err := waitReady(ctx, "http://"+httpAddr+"/readyz"); err != nil {
		return fmt.Errorf("%w\nmmsprofile log:\n%s", err, logBuf.String())
	}
	step("mmsprofile serve is connected as %s, MM7 on http://%s/mm7", xs.Component, mm7Addr)

	photo := mm7sample.Photo(1280, 960, 7)
	posted := time.Now()
	if twilio != nil {
		err = postTwilio(twilio, hookAddr, photo)
	} else {
		err = postMM7(ctx, mm7Addr, photo)
	}
	if err != nil {
		return fmt.Errorf("%w\nmmsprofile log:\n%s", err, logBuf.String())
	}

	var ev xmppclient.AvatarEvent
	timeout := time.After(20 * time.Second)
	// An event without info is "no avatar", which ejabberd's mod_avatar
	// may announce for a vCard set before the new picture's: wait on.
	for len(ev.Infos) == 0 {
		select {
		case ev = <-bc.AvatarEvents():
		case <-timeout:
			return fmt.Errorf("bob received no avatar event\nmmsprofile log:\n%s", logBuf.String())
		}
	}
	latency := time.Since(posted)
	data, err := bc.FetchAvatarData(ctx, alice, ev.ItemID)
	if err != nil {
		return err
	}
	sum := sha1.Sum(data)
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return fmt.Errorf("avatar data is not a PNG: %w", err)
	}
	fmt.Println()
	fmt.Printf("bob's client received a PEP avatar event from %s %v after the %s POST:\n", ev.From, latency.Round(time.Millisecond), intake)
	for _, in := range ev.Infos {
		fmt.Printf("  metadata: id=%s type=%s %dx%d bytes=%d\n", in.ID, in.Type, in.Width, in.Height, in.Bytes)
	}
	fmt.Printf("  data:     %d bytes, SHA-1 %s (matches id: %v), PNG %dx%d\n",
		len(data), hex.EncodeToString(sum[:]), hex.EncodeToString(sum[:]) == ev.ItemID, img.Bounds().Dx(), img.Bounds().Dy())
	fmt.Println()
	step("demo finished in %v; cleaning up", time.Since(started).Round(time.Millisecond))
	return nil
}

func postMM7(ctx context.Context, mm7Addr string, photo []byte) error {
	code, body, err := mm7sample.Post(ctx, http.DefaultClient, "http://"+mm7Addr+"/mm7", mm7User, mm7Pass, mm7sample.Deliver{
		TransactionID: "demo-tx-1", MessageID: "demo-msg-1", Sender: number,
		Subject: "new picture", Text: "Hello from my phone", Image: photo,
	})
	if err != nil {
		return err
	}
	step("MM7 DeliverReq from %s with a %d-byte 1280x960 JPEG: HTTP %d, StatusCode %s", number, len(photo), code, mm7sample.StatusCode(body))
	if code != http.StatusOK || mm7sample.StatusCode(body) != "1000" {
		return fmt.Errorf("unexpected answer:\n%s", body)
	}
	return nil
}

// twilioPublicURL is the address the operator would enter in Twilio's
// console; the signature covers it, not the loopback address posted to.
const twilioPublicURL = "https://mms.example.org/twilio"

func twilioConfig(f *webhooktest.Twilio, hookAddr string) string {
	if f == nil {
		return ""
	}
	// allow_private_media: the fake's media host is on loopback, which
	// a production config refuses.
	return fmt.Sprintf(`
[webhook]
listen = %q
allow_private_media = true
[webhook.twilio]
account_sid = %q
auth_token = %q
url = %q
api_url = %q
`, hookAddr, f.AccountSID, f.AuthToken, twilioPublicURL, f.API.URL)
}

func postTwilio(f *webhooktest.Twilio, hookAddr string, photo []byte) error {
	media := f.AddMedia("demo.jpg", photo)
	step("fake Twilio API on %s holds a %d-byte 1280x960 JPEG behind Basic auth (redirecting to its storage host %s)", f.API.URL, len(photo), f.Storage.URL)
	code, body, err := f.Post("http://"+hookAddr+"/twilio", twilioPublicURL, "MMdemo0001", number, "+12025550100", "Hello from my phone", []string{media}, "")
	if err != nil {
		return err
	}
	step("Twilio webhook (X-Twilio-Signature for %s) from %s: HTTP %d %s", twilioPublicURL, number, code, strings.TrimSpace(body))
	if code != http.StatusOK {
		return fmt.Errorf("unexpected answer: HTTP %d %s", code, body)
	}
	if f.StorageSawAuth.Load() {
		return errors.New("the account's credentials reached Twilio's storage host")
	}
	step("media fetched %d time(s); the storage host saw no credentials", f.MediaHits.Load())
	return nil
}

func freeAddr() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	return l.Addr().String(), nil
}

func waitReady(ctx context.Context, url string) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			// A single node on SQLite leads: ready once it holds the
			// component connection.
			if resp.StatusCode == http.StatusOK && strings.Contains(string(body), "leading") {
				return nil
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return errors.New("mmsprofile did not become ready within 30s")
}
