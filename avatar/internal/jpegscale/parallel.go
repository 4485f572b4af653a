package jpegscale

import (
	"errors"
	"math"
	"sync"
	"sync/atomic"
)

// A progressive picture's scans depend on each other only where they
// touch the same coefficients (T.81 G.1.1.1): the DC scans, first and
// refinements, build every component's DC coefficients, and each
// component's AC scans, which code that component alone, build its AC
// coefficients. So the scans form independent chains, one of DC scans
// and one of AC scans per component, each to be decoded in file order
// but alongside the others. The DC chain writes the DC coefficient
// (slot 0) of each block and nothing else; an AC chain writes its
// component's other slots and its nz bits. No element is written by two
// chains.
//
// Within an AC chain, a scan only needs the blocks it is at to be done
// by the scan before it, and all its scans cover the same blocks in the
// same order; so a scan follows the one before it row by row rather
// than waiting for it to end. Most of a photo's work is in its luma AC
// chain, which this spreads too.

// errSequential sends Decode back to decoding each scan as its header is
// read, for a file whose scans cannot be found without decoding them.
var errSequential = errors.New("jpegscale: scans must be decoded in order")

// errChainBroken stops a scan whose chain failed before it. Never
// returned: the scan that failed comes first.
var errChainBroken = errors.New("jpegscale: an earlier scan failed")

// scanJob is a progressive scan whose header has been read and whose
// decoding is deferred.
type scanJob struct {
	// d is a copy of the decoder taken at the scan's header, to decode
	// it with: it keeps the Huffman tables (which are never overwritten),
	// restart interval, spectral band and quantisation in force then,
	// and has a bit reader of its own, at the start of the scan's data.
	// The coefficient storage is shared.
	d     *decoder
	comps [4]*component // in d.comps
	ns    int
	block blockFunc
	// chain is 0 for a DC scan, 1+i for an AC scan of component i; prev
	// is the scan before this one in its chain, if any.
	chain int
	prev  *scanJob
	err   error

	mu    sync.Mutex
	moved sync.Cond // on mu, when rows or failed change
	// rows is how many rows of blocks the scan has finished, math.MaxInt
	// once it has ended; failed tells that it, or one before it in its
	// chain, failed.
	rows   int
	failed bool
}

// deferScan sets a scan aside for runScans, the scan's header read and
// the component indices of its components in index.
func (d *decoder) deferScan(index []int, ss int, block blockFunc) {
	j := &scanJob{d: new(decoder), ns: len(index), block: block}
	j.moved.L = &j.mu
	*j.d = *d
	j.d.jobs, j.d.job = nil, j
	for i, x := range index {
		j.comps[i] = &j.d.comps[x]
	}
	if ss > 0 {
		j.chain = 1 + index[0]
	}
	for _, p := range d.jobs {
		if p.chain == j.chain {
			j.prev = p
		}
	}
	d.jobs = append(d.jobs, j)
}

// runScans decodes the deferred scans on up to d.workers goroutines and
// returns the error of the first scan in file order that failed. The
// scans before it in file order ran as they would have one after the
// other; those after it in its chain stop.
//
// The goroutines take the scans in file order. A scan waits only for
// ones before it, which were taken before it and run or are done, so the
// first scan not done always runs.
func (d *decoder) runScans() error {
	var next atomic.Int32
	run := func() {
		for {
			n := int(next.Add(1)) - 1
			if n >= len(d.jobs) {
				return
			}
			d.jobs[n].run()
		}
	}
	var wg sync.WaitGroup
	for range min(d.workers, len(d.jobs)) - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
	for _, j := range d.jobs {
		if j.err != nil {
			return j.err
		}
	}
	return nil
}

func (j *scanJob) run() {
	// DC scans need not cover the same blocks in the same order (one may
	// be interleaved, the next not): the one before must have ended.
	if j.chain == 0 && j.prev != nil && j.prev.await(math.MaxInt) {
		j.err = errChainBroken
	} else {
		j.err = j.d.scan(j.comps[:j.ns], j.block)
	}
	j.publish(math.MaxInt, j.err != nil)
}

// follow is called by an AC scan before it starts on row by of its
// blocks: it tells the next scan in the chain that the rows above are
// done, and waits for the scan before it to finish row by.
func (j *scanJob) follow(by int) error {
	j.publish(by, false)
	if j.prev != nil && j.prev.await(by+1) {
		return errChainBroken
	}
	return nil
}

func (j *scanJob) publish(rows int, failed bool) {
	j.mu.Lock()
	j.rows, j.failed = rows, failed
	j.mu.Unlock()
	j.moved.Broadcast()
}

// await waits until j has finished rows rows, and reports whether it
// failed.
func (j *scanJob) await(rows int) (failed bool) {
	j.mu.Lock()
	defer j.mu.Unlock()
	for j.rows < rows {
		j.moved.Wait()
	}
	return j.failed
}
