package profile

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"mmsprofile/avatar"
	"mmsprofile/mmsbridge"
	"mmsprofile/storage"
)

type fakeStore struct {
	links   map[string]string
	commits []storage.Update
	seen    map[string]int64
	fail    error
}

func (f *fakeStore) LinkByNumber(_ context.Context, n string) (storage.Link, error) {
	j, ok := f.links[n]
	if !ok {
		return storage.Link{}, storage.ErrNotFound
	}
	return storage.Link{JID: j, Number: n}, nil
}

func (f *fakeStore) CommitUpdate(_ context.Context, u storage.Update) (int64, error) {
	if f.fail != nil {
		return 0, f.fail
	}
	if id, ok := f.seen[u.Source+u.Key]; ok {
		return id, storage.ErrDuplicate
	}
	f.commits = append(f.commits, u)
	id := int64(len(f.commits))
	f.seen[u.Source+u.Key] = id
	return id, nil
}

type fakeImager struct{}

func (fakeImager) Make(_ context.Context, data []byte) (avatar.Image, error) {
	switch string(data) {
	case "":
		return avatar.Image{}, avatar.ErrEmpty
	case "bomb":
		return avatar.Image{}, errors.Join(errors.New("avatar: decode jpeg 60000x60000"), avatar.ErrTooLarge)
	}
	return avatar.Image{ID: "id-" + string(data), Type: "image/png", Width: 128, Height: 128, Data: []byte("png:" + string(data))}, nil
}

func newService(t *testing.T) (*Service, *fakeStore, *int) {
	t.Helper()
	st := &fakeStore{links: map[string]string{"+12025550143": "alice@example.org"}, seen: map[string]int64{}}
	woken := 0
	s := New(st, fakeImager{}, Rules{MaxStatusChars: 12}, func() { woken++ }, slog.New(slog.NewTextHandler(io.Discard, nil)))
	return s, st, &woken
}

func msg(sender string, parts ...mmsbridge.Part) *mmsbridge.Message {
	return &mmsbridge.Message{Transport: mmsbridge.TransportMM7, Key: "relay/1", Sender: sender, SenderRaw: sender, Received: time.Unix(1, 0), Parts: parts}
}

func img(data string) mmsbridge.Part { return mmsbridge.Part{ContentType: "image/jpeg", Data: []byte(data)} }
func text(s string) mmsbridge.Part  { return mmsbridge.Part{ContentType: "text/plain", Data: []byte(s)} }

func TestReceive(t *testing.T) {
	tests := []struct {
		name       string
		msg        *mmsbridge.Message
		wantReason mmsbridge.Reason
		wantText   string // part of the refusal
		wantAvatar string
		wantStatus string
	}{
		{name: "photo and text", msg: msg("+12025550143", img("a"), text("  hello\n world  ")), wantAvatar: "id-a", wantStatus: "hello world"},
		{name: "long text is cut", msg: msg("+12025550143", text("abcdefghijklmnop")), wantStatus: "abcdefghijk…"},
		{name: "second picture used when first is bad", msg: msg("+12025550143", img(""), img("b")), wantAvatar: "id-b"},
		{name: "unknown number", msg: msg("+12025550199", img("a")), wantReason: mmsbridge.ReasonUnknownSender, wantText: "not linked"},
		{name: "no sender", msg: msg("", img("a")), wantReason: mmsbridge.ReasonBadSender, wantText: "no sender"},
		{name: "short code", msg: msg("12345", img("a")), wantReason: mmsbridge.ReasonBadSender, wantText: "not a phone number"},
		{name: "bomb", msg: msg("+12025550143", img("bomb")), wantReason: mmsbridge.ReasonContent, wantText: "too large"},
		{name: "empty picture", msg: msg("+12025550143", img("")), wantReason: mmsbridge.ReasonContent, wantText: "empty"},
		{name: "nothing", msg: msg("+12025550143", mmsbridge.Part{ContentType: "application/smil", Data: []byte("<smil/>")}), wantReason: mmsbridge.ReasonContent, wantText: "nothing to publish"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s, st, woken := newService(t)
			err := s.Receive(context.Background(), tc.msg)
			if tc.wantReason != 0 {
				r, ok := mmsbridge.AsRefusal(err)
				if !ok || r.Reason != tc.wantReason || !strings.Contains(r.Text, tc.wantText) {
					t.Fatalf("err %v, want refusal %d containing %q", err, tc.wantReason, tc.wantText)
				}
				if len(st.commits) != 0 || *woken != 0 {
					t.Fatal("a refused message was committed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(st.commits) != 1 || *woken != 1 {
				t.Fatalf("commits %d, woken %d", len(st.commits), *woken)
			}
			u := st.commits[0]
			if u.JID != "alice@example.org" || u.Status != tc.wantStatus {
				t.Fatalf("update %+v", u)
			}
			if got := ""; u.Avatar != nil {
				got = u.Avatar.ID
				if got != tc.wantAvatar {
					t.Fatalf("avatar %q, want %q", got, tc.wantAvatar)
				}
			} else if tc.wantAvatar != "" {
				t.Fatal("no avatar")
			}
		})
	}
}

func TestDuplicateIsAcceptedOnce(t *testing.T) {
	s, st, woken := newService(t)
	m := msg("+12025550143", img("a"))
	for i := 0; i < 3; i++ {
		if err := s.Receive(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	if len(st.commits) != 1 || *woken != 1 {
		t.Fatalf("commits %d, woken %d", len(st.commits), *woken)
	}
}

// A storage failure is not a refusal: the transport must tell the sender to
// retry rather than drop the message.
func TestStorageFailureIsTemporary(t *testing.T) {
	s, st, _ := newService(t)
	st.fail = errors.New("disk full")
	err := s.Receive(context.Background(), msg("+12025550143", img("a")))
	if err == nil {
		t.Fatal("no error")
	}
	if _, ok := mmsbridge.AsRefusal(err); ok {
		t.Fatalf("storage failure reported as refusal: %v", err)
	}
}
