package app_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"mmsprofile/internal/testkit/mm7sample"
)

func TestMM7PhotoBecomesAvatar(t *testing.T) {
	e := start(t)
	photo := mm7sample.Photo(1280, 960, 1)
	e.accept("answer", mm7sample.Deliver{TransactionID: "tx-1", MessageID: "msg-1", Sender: aliceNumber, Text: "At the beach", Image: photo})
	ev := e.nextAvatar()
	if len(ev.Infos) != 1 {
		t.Fatalf("metadata infos %+v", ev.Infos)
	}
	info := ev.Infos[0]
	if info.ID != ev.ItemID || info.Type != "image/png" || info.Width != 128 || info.Height != 128 {
		t.Fatalf("info %+v (item %s)", info, ev.ItemID)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if data := checkAvatar(ctx, t, e.bob, e.alice, ev.ItemID); len(data) != info.Bytes {
		t.Fatalf("data %d bytes; metadata says %d bytes", len(data), info.Bytes)
	}
}

// refusal is a message the service must refuse, with the status it
// answers.
type refusal struct {
	name   string
	d      mm7sample.Deliver
	status string
}

// checkRefusalsPublishNothing posts the refused messages, then a good one
// twice (the MMSC retrying) and another: the refused and the repeated
// publish nothing, so the next events bob sees are the two good ones.
func checkRefusalsPublishNothing(t *testing.T, e *env, refusals []refusal) {
	t.Helper()
	for _, tc := range refusals {
		code, status := e.post(tc.d)
		if code != http.StatusOK || status != tc.status {
			t.Errorf("%s: HTTP %d status %q, want 200/%s", tc.name, code, status, tc.status)
		}
	}
	first := mm7sample.Deliver{TransactionID: "tx-1", MessageID: "m-1", Sender: aliceNumber, Image: mm7sample.Photo(640, 480, 3)}
	e.accept("good message", first)
	ev1 := e.nextAvatar()
	// The MMSC retries the same message: answered as before, nothing new.
	e.accept("repeated message", first)
	e.accept("second message", mm7sample.Deliver{TransactionID: "tx-2", MessageID: "m-2", Sender: aliceNumber, Image: mm7sample.Photo(480, 640, 4)})
	ev2 := e.nextAvatar()
	if ev2.ItemID == ev1.ItemID {
		t.Fatalf("the repeated message was published again (%s)", ev2.ItemID)
	}
}

// Refused and repeated messages publish nothing: the next event bob sees
// is the one from the next good message.
func TestMM7RefusalsPublishNothing(t *testing.T) {
	e := start(t)
	checkRefusalsPublishNothing(t, e, []refusal{
		{"unknown number", mm7sample.Deliver{TransactionID: "tx-u", MessageID: "m-u", Sender: "+12025550199", Image: mm7sample.Photo(64, 48, 2)}, "2003"},
		{"corrupt picture", mm7sample.Deliver{TransactionID: "tx-c", MessageID: "m-c", Sender: aliceNumber, Image: []byte("\xff\xd8\xff\xe0 not really a jpeg")}, "2004"},
	})
}
