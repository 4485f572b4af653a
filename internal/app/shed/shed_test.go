package shed

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"mmsprofile/metrics"
	"mmsprofile/mmsbridge"
)

func TestTryAcquireBounds(t *testing.T) {
	l := New(2, nil)
	r1, ok1 := l.TryAcquire()
	r2, ok2 := l.TryAcquire()
	_, ok3 := l.TryAcquire()
	if !ok1 || !ok2 || ok3 {
		t.Fatalf("acquire = %v %v %v, want true true false", ok1, ok2, ok3)
	}
	r1()
	r1() // a second release must not free a slot it does not hold
	if got := l.InFlight(); got != 1 {
		t.Fatalf("InFlight = %d after one release, want 1", got)
	}
	if _, ok := l.TryAcquire(); !ok {
		t.Fatal("no slot after a release")
	}
	r2()
}

func TestZeroMeansOne(t *testing.T) {
	if got := New(0, nil).Max(); got != 1 {
		t.Fatalf("Max = %d, want 1", got)
	}
}

func TestReceiverShedsAsBusy(t *testing.T) {
	m := metrics.New(metrics.Options{})
	l := New(1, m)
	entered, finish := make(chan struct{}), make(chan struct{})
	slow := mmsbridge.ReceiverFunc(func(context.Context, *mmsbridge.Message) error {
		close(entered)
		<-finish
		return nil
	})
	// Either wrapping order must give the same counts.
	rcv := m.Receiver(l.Receiver(slow))
	msg := &mmsbridge.Message{Transport: mmsbridge.TransportMM7}

	var wg sync.WaitGroup
	wg.Add(1)
	var firstErr error
	go func() { defer wg.Done(); firstErr = rcv.Receive(t.Context(), msg) }()
	<-entered

	err := rcv.Receive(t.Context(), msg)
	r, ok := mmsbridge.AsRefusal(err)
	if !ok || r.Reason != mmsbridge.ReasonBusy {
		t.Fatalf("second Receive = %v, want a ReasonBusy refusal", err)
	}
	if !errors.Is(err, metrics.ErrShed) {
		t.Fatalf("second Receive = %v, want it to match metrics.ErrShed", err)
	}
	if got := metrics.Outcome(err); got != metrics.OutcomeFailed {
		t.Errorf("Outcome = %q, want failed (retry later)", got)
	}
	close(finish)
	wg.Wait()
	if firstErr != nil {
		t.Fatal(firstErr)
	}
	if l.InFlight() != 0 {
		t.Fatalf("InFlight = %d at rest", l.InFlight())
	}

	want := map[string]float64{
		"mmsprofile_shed_total":         1,
		"mmsprofile_mms_received_total": 1,
		"mmsprofile_inflight":           0,
	}
	mfs, err := m.Registry().Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		w, ok := want[mf.GetName()]
		if !ok {
			continue
		}
		delete(want, mf.GetName())
		var sum float64
		for _, mt := range mf.GetMetric() {
			sum += mt.GetCounter().GetValue() + mt.GetGauge().GetValue()
		}
		if sum != w {
			t.Errorf("%s = %v, want %v", mf.GetName(), sum, w)
		}
	}
	for name := range want {
		t.Errorf("%s missing", name)
	}
	if n, err := testutil.GatherAndCount(m.Registry(), "mmsprofile_mms_total"); err != nil || n != 2 {
		t.Errorf("mmsprofile_mms_total series = %d, %v; want 2 (accepted, shed)", n, err)
	}
}
