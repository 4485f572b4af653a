package component

import (
	"context"
	"encoding/xml"
	"errors"
	"runtime/trace"
	"sync"

	"mellium.im/xmpp/jid"
)

// PrivilegedIQs sends payloads as privileged IQs of type typ on owner's
// behalf, each written on the stream right behind the one before without
// waiting for its answer, and returns every answer and error, in the
// order of payloads. One round trip is waited for instead of one per IQ.
//
// The component keeps the order on its stream; whether the server also
// carries the IQs out in that order, each finished before the next
// starts, is the server's affair: Prosody handles a component stream's
// stanzas one after the other, to the end of its storage write, so a
// later IQ sees what an earlier one stored. A caller that needs that
// must use this only where it holds, and must decide what a later IQ
// that succeeded after an earlier one failed leaves behind.
//
// Every IQ is checked as PrivilegedIQ checks it before anything is sent:
// one that may not be sent fails alone, the others still go. An IQ that
// comes back bounced is sent again, once, addressed the other way, after
// the others were answered and in their order, each answer awaited.
func (c *Component) PrivilegedIQs(ctx context.Context, owner jid.JID, typ string, payloads ...[]byte) ([][]byte, []error) {
	owner = owner.Bare()
	host := owner.Domainpart()
	addressing := c.Addressing(host)
	out := make([][]byte, len(payloads))
	errs := make([]error, len(payloads))
	var wg sync.WaitGroup
	for i, payload := range payloads {
		s, ns, err := c.mayWrite(ctx, owner, typ, payload)
		if err != nil {
			errs[i] = err
			continue
		}
		written := make(chan struct{})
		wg.Add(1)
		go func() {
			defer wg.Done()
			if trace.IsEnabled() {
				defer trace.StartRegion(ctx, "xmpp.iq-"+typ+" "+ns).End()
			}
			out[i], errs[i] = c.privilegedIQ(ctx, s, owner, typ, payload, addressing, func() { close(written) })
		}()
		// The next IQ is sent only once this one holds the stream, so it
		// cannot overtake it.
		<-written
	}
	wg.Wait()
	if addressing != AddressSelf {
		return out, errs
	}
	for i, payload := range payloads {
		if !errors.Is(errs[i], ErrBounced) {
			continue
		}
		// ejabberd before 25.03 (#4347), as in PrivilegedIQ.
		if _, ok := respell(owner); !ok {
			continue
		}
		c.useRespelled(host, "a privileged IQ came back")
		s, _, err := c.mayWrite(ctx, owner, typ, payload)
		if err != nil {
			errs[i] = err
			continue
		}
		out[i], errs[i] = c.privilegedIQ(ctx, s, owner, typ, payload, AddressRespelled, nil)
	}
	return out, errs
}

// onBody calls f when the IQ's first token after its start element is
// read. mellium's Session.SendIQ reads the start element itself, then
// writes the rest while holding the stream's write lock until the stanza
// is flushed: from the moment f is called, a stanza sent next cannot be
// written before this one.
type onBody struct {
	r     xml.TokenReader
	reads int
	f     func()
}

func (o *onBody) Token() (xml.Token, error) {
	o.reads++
	if o.reads == 2 {
		o.f()
	}
	return o.r.Token()
}
