package app_test

import (
	"bytes"
	"context"
	"net/http"
	"testing"
	"time"

	"golang.org/x/text/encoding/korean"

	"mmsprofile/internal/testkit/mm7sample"
)

// A Korean MMSC's DeliverReq, written whole in EUC-KR (the XML
// declaration, the text part's charset, the text), is taken with 1000 and
// its text reaches a contact in UTF-8, as the status in alice's vCard.
func TestMM7EUCKRRequestBecomesStatus(t *testing.T) {
	e := start(t)
	const text = "해변에서 안녕하세요"
	ct, body := mm7sample.Deliver{TransactionID: "tx-kr-1", MessageID: "msg-kr-1", Sender: aliceNumber, Text: text, Image: mm7sample.Photo(640, 480, 21)}.Build()
	body = bytes.Replace(body, []byte(`encoding="UTF-8"`), []byte(`encoding="EUC-KR"`), 1)
	body = bytes.ReplaceAll(body, []byte("charset=utf-8"), []byte("charset=EUC-KR"))
	body, err := korean.EUCKR.NewEncoder().Bytes(body)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(body, []byte(text)) {
		t.Fatal("the body still holds the UTF-8 text")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.mm7URL, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", ct)
	req.SetBasicAuth(mm7User, mm7Password)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	resp.Body.Close()
	if s := mm7sample.StatusCode(out.Bytes()); resp.StatusCode != 200 || s != "1000" {
		t.Fatalf("HTTP %d status %q", resp.StatusCode, s)
	}
	ev := e.nextAvatar()
	doc, _ := e.waitVCard(ctx, func(doc vcardDoc, sum string) bool { return sum != "" && doc.Desc != "" })
	if doc.Desc != text {
		t.Fatalf("status DESC %q, want %q (avatar %s)", doc.Desc, text, ev.ItemID)
	}
}
