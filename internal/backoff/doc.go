// Package backoff is the one home of the retry delays: the component's
// reconnects, the publisher's outbox retries and the MM7 replies' resends
// all double a minimum per attempt up to a maximum, and jitter where many
// peers failing together must not come back together.
package backoff
