package app_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"net/http"
	"os/exec"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

// halfClosePost sends d over a raw TCP connection, shuts the write side
// once the whole request is out, and returns the HTTP status and MM7
// status of the answer.
func (e *env) halfClosePost(d mm7sample.Deliver) (int, string) {
	e.t.Helper()
	ct, body := d.Build()
	addr := e.srv.MM7Addr().String()
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST /mm7 HTTP/1.1\r\nHost: %s\r\nContent-Type: %s\r\nSOAPAction: \"\"\r\nAuthorization: Basic %s\r\nContent-Length: %d\r\n\r\n",
		addr, ct, base64.StdEncoding.EncodeToString([]byte(mm7User+":"+mm7Password)), len(body))
	req.Write(body)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		e.t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		e.t.Fatal(err)
	}
	if _, err := c.Write(req.Bytes()); err != nil {
		e.t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		e.t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	rb, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, mm7sample.StatusCode(rb)
}

// An MMSC that half-closes its connection after the request gets its
// DeliverRsp 1000, and the picture becomes the avatar at a contact's
// client: the commit runs under the service's deadline, not the client's
// connection, which net/http cancels on the EOF.
func TestMM7HalfClosedClientIsAccepted(t *testing.T) {
	e := start(t)
	code, status := e.halfClosePost(mm7sample.Deliver{TransactionID: "tx-hc-1", MessageID: "msg-hc-1", Sender: aliceNumber, Text: "Half closed", Image: mm7sample.Photo(800, 600, 11)})
	if code != http.StatusOK || status != "1000" {
		t.Fatalf("HTTP %d status %q, want 200/1000", code, status)
	}
	ev := e.nextAvatar()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if data := checkAvatar(ctx, t, e.bob, e.alice, ev.ItemID); len(data) == 0 {
		t.Fatal("no avatar data")
	}

	// The same with curl streaming the body from stdin, as an operator
	// trying the endpoint by hand would.
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("curl not installed: only the raw-socket client was tried")
		return
	}
	ct, body := mm7sample.Deliver{TransactionID: "tx-hc-2", MessageID: "msg-hc-2", Sender: aliceNumber, Image: mm7sample.Photo(640, 640, 12)}.Build()
	cmd := exec.CommandContext(ctx, curl, "--http1.1", "-sS", "-X", "POST", "-T", "-",
		"-H", "Content-Type: "+ct, "-H", `SOAPAction: ""`, "-u", mm7User+":"+mm7Password, e.mm7URL)
	cmd.Stdin = bytes.NewReader(body)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("curl: %v: %s", err, out)
	}
	if s := mm7sample.StatusCode(out); s != "1000" {
		t.Fatalf("curl -T -: status %q: %s", s, strings.TrimSpace(string(out)))
	}
	if ev2 := e.nextAvatar(); ev2.ItemID == ev.ItemID {
		t.Fatalf("curl's picture was not published (%s)", ev2.ItemID)
	}
}
