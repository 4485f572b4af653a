package publisher

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"

	"mellium.im/xmpp/jid"

	"mmsprofile/storage"
)

// pipeServer is a fakeServer that also pipelines, recording which IQs
// went out together; failData fails the avatar data IQ of a pipeline.
type pipeServer struct {
	*fakeServer
	pipelines [][]string
	failData  error
}

func (f *pipeServer) PrivilegedIQs(ctx context.Context, owner jid.JID, typ string, payloads ...[]byte) ([][]byte, []error) {
	out := make([][]byte, len(payloads))
	errs := make([]error, len(payloads))
	var sent []string
	for i, p := range payloads {
		sent = append(sent, pepNode(string(p)))
		if f.failData != nil && pepNode(string(p)) == "urn:xmpp:avatar:data" {
			errs[i] = f.failData
			continue
		}
		out[i], errs[i] = f.fakeServer.PrivilegedIQ(ctx, owner, typ, p)
	}
	f.mu.Lock()
	f.pipelines = append(f.pipelines, sent)
	f.mu.Unlock()
	return out, errs
}

func pipePublisher(w Writer) *Publisher {
	return New(nil, w, nil, Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

var alice = jid.MustParse("alice@example.org")

func testAvatar() *storage.Avatar {
	return &storage.Avatar{ID: "0123456789abcdef0123456789abcdef01234567", Type: "image/png", Data: []byte("png"), Width: 1, Height: 1}
}

func TestAvatarPipelinedOnProsody(t *testing.T) {
	w := &pipeServer{fakeServer: &fakeServer{}}
	if err := pipePublisher(w).publishAvatar(t.Context(), alice, testAvatar()); err != nil {
		t.Fatal(err)
	}
	if len(w.pipelines) != 1 || strings.Join(w.pipelines[0], " ") != "urn:xmpp:avatar:data urn:xmpp:avatar:metadata" {
		t.Fatalf("pipelines %q, want data then metadata together", w.pipelines)
	}
	// The vCard PHOTO still follows, the server not converting.
	if last := w.iqs[len(w.iqs)-1]; !strings.HasPrefix(last, "set <vCard") || !strings.Contains(last, "<PHOTO>") {
		t.Fatalf("last iq %.80q, want the vCard PHOTO set", last)
	}
}

func TestAvatarPipelinedDataFails(t *testing.T) {
	w := &pipeServer{fakeServer: &fakeServer{}, failData: errors.New("resource-constraint")}
	err := pipePublisher(w).publishAvatar(t.Context(), alice, testAvatar())
	if !errors.Is(err, w.failData) || !strings.Contains(err.Error(), "avatar data") {
		t.Fatalf("error %v, want the data's", err)
	}
	// The metadata went through: it is retracted, and nothing else is
	// written (no vCard PHOTO for an avatar that is not there).
	want := []string{"set <pubsub", "set <pubsub"}
	if len(w.iqs) != len(want) || !strings.Contains(w.iqs[0], "urn:xmpp:avatar:metadata") ||
		!strings.Contains(w.iqs[1], "<retract node=\"urn:xmpp:avatar:metadata\" notify=\"true\"><item id=\"0123456789abcdef0123456789abcdef01234567\">") {
		t.Fatalf("iqs %q, want the metadata and its retraction", w.iqs)
	}
}

func TestAvatarNotPipelinedOnEjabberd(t *testing.T) {
	w := &pipeServer{fakeServer: &fakeServer{ejabberd: true}}
	if err := pipePublisher(w).publishAvatar(t.Context(), alice, testAvatar()); err != nil {
		t.Fatal(err)
	}
	if len(w.pipelines) != 0 {
		t.Fatalf("pipelined %q on ejabberd", w.pipelines)
	}
	if !strings.Contains(w.iqs[0], "urn:xmpp:avatar:data") || !strings.Contains(w.iqs[1], "urn:xmpp:avatar:metadata") {
		t.Fatalf("iqs %.60q, want data then metadata", w.iqs)
	}
}
