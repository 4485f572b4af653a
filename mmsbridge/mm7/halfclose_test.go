package mm7

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"mmsprofile/mmsbridge"
)

// halfClosePost sends r over a raw TCP connection to addr, shuts the write
// side once the whole request is out (what `curl -T -` and some MMSCs do)
// and reads the answer.
func halfClosePost(t *testing.T, addr string, r *http.Request) (*http.Response, []byte) {
	t.Helper()
	body, err := io.ReadAll(r.Body)
	if err != nil {
		t.Fatal(err)
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "POST /mm7 HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n", addr, len(body))
	for _, k := range []string{"Content-Type", "Authorization", "SOAPAction"} {
		if v := r.Header.Get(k); v != "" {
			fmt.Fprintf(&req, "%s: %s\r\n", k, v)
		}
	}
	req.WriteString("\r\n")
	req.Write(body)
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(30 * time.Second)); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Write(req.Bytes()); err != nil {
		t.Fatal(err)
	}
	if err := c.(*net.TCPConn).CloseWrite(); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, out
}

// A client that half-closes after its request still gets its DeliverRsp
// 1000: the Receiver (a commit, here one that takes until net/http has
// noticed the EOF and cancelled the request) runs under the handler's own
// deadline, not under the client's connection.
func TestHandlerHalfClosedClient(t *testing.T) {
	reqCtx := make(chan context.Context, 1)
	var sawCancel bool
	rcv := mmsbridge.ReceiverFunc(func(ctx context.Context, msg *mmsbridge.Message) error {
		select {
		case <-(<-reqCtx).Done():
			sawCancel = true
		case <-time.After(10 * time.Second):
		}
		return ctx.Err()
	})
	h := NewHandler(testConfig(), rcv, testLogger(t))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reqCtx <- r.Context()
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()

	resp, out := halfClosePost(t, srv.Listener.Addr().String(), postFixture(t))
	a := readAnswer(t, out)
	if resp.StatusCode != 200 || a.element != "DeliverRsp" || a.statusCode != "1000" {
		t.Fatalf("HTTP %d %+v", resp.StatusCode, a)
	}
	if !sawCancel {
		t.Errorf("net/http never cancelled the request on the half-close: the test did not exercise it")
	}
}
