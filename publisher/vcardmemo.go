package publisher

import (
	"context"
	"time"

	"mmsprofile/vcard"
)

// vcardMemoWindow is how long after our vCard set was answered the next
// item of the same account may merge into what we wrote instead of
// reading the vCard again.
//
// Every merge is a read-modify-write, so a change the user's own client
// makes between our read and our write is already overwritten; that
// window is one round trip. Skipping the read widens it to the time since
// our last write, and nothing tells us of a client's write in between
// (vcard-temp has no notifications, and we see no presence hashes). So
// the memo is bounded twice: it lives only while one drainGroup runs an
// account's queued items back to back (an MMS's picture, then its text;
// queued text items are one write already, see mergedProfile), and an
// entry older than this window is read again. A user's
// edit lost to it must land within a second of our own write to their
// vCard, a window of the same kind as the one every merge has.
const vcardMemoWindow = time.Second

// vcardMemo holds the vcard-temp last written per account, for the items
// of one drainGroup: one goroutine, so no lock; dropped with the group.
type vcardMemo map[string]memoEntry

// memoEntry keeps the document parsed, not its bytes: the next merge
// starts from it without parsing up to a PHOTO's 256 KB again.
type memoEntry struct {
	doc *vcard.Temp
	at  time.Time
}

type vcardMemoKey struct{}

// withVCardMemo gives the items published under ctx a memo of their own.
func withVCardMemo(ctx context.Context) context.Context {
	return context.WithValue(ctx, vcardMemoKey{}, vcardMemo{})
}

// memoFrom is ctx's memo, nil (which remembers nothing) outside a group.
func memoFrom(ctx context.Context) vcardMemo {
	m, _ := ctx.Value(vcardMemoKey{}).(vcardMemo)
	return m
}

// recent returns the vCard we wrote for account within the window, a
// copy the caller may Apply to: Apply replaces a document's children and
// never changes one in place, so the copy shares them safely.
func (m vcardMemo) recent(account string, now time.Time) (*vcard.Temp, bool) {
	e, ok := m[account]
	if !ok || now.Sub(e.at) > vcardMemoWindow || now.Before(e.at) {
		return nil, false
	}
	doc := *e.doc
	return &doc, true
}

// keep remembers doc, as written, for account at the time its set was
// answered.
func (m vcardMemo) keep(account string, doc *vcard.Temp, at time.Time) {
	if m != nil {
		kept := *doc // the caller's later Apply must not reach it
		m[account] = memoEntry{doc: &kept, at: at}
	}
}

// forget drops account's entry: after any error, what is stored is no
// longer known.
func (m vcardMemo) forget(account string) {
	delete(m, account)
}
