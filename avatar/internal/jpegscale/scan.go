package jpegscale

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// natural maps the zigzag order in which coefficients are coded to their
// place in the 8x8 block, row by row (T.81 Figure A.6).
var natural = [64]uint8{
	0, 1, 8, 16, 9, 2, 3, 10,
	17, 24, 32, 25, 18, 11, 4, 5,
	12, 19, 26, 33, 40, 48, 41, 34,
	27, 20, 13, 6, 7, 14, 21, 28,
	35, 42, 49, 56, 57, 50, 43, 36,
	29, 22, 15, 23, 30, 37, 44, 51,
	58, 59, 52, 45, 38, 31, 39, 46,
	53, 60, 61, 54, 47, 55, 62, 63,
}

// blockFunc decodes (or skips) the block at column bx, row by of c's
// blocks, with d's bit reader. It is a method expression rather than a
// method value so that a deferred scan can run it on its own decoder.
type blockFunc func(d *decoder, c *component, bx, by int) error

// sos reads a scan header (T.81 B.2.3) and decodes the scan's
// entropy-coded data, leaving pos at or before the marker that ends it;
// or it sets a progressive scan aside for runScans, leaving pos at the
// start of its data for the search for the next marker to pass over, as
// for the AC scans skipped at 1/8.
func (d *decoder) sos(seg []byte) error {
	if !d.frame {
		return fmt.Errorf("jpegscale: SOS before SOF: %w", ErrCorrupt)
	}
	if len(seg) < 1 {
		return fmt.Errorf("jpegscale: empty SOS: %w", ErrCorrupt)
	}
	ns := int(seg[0])
	if ns < 1 || ns > d.nf || len(seg) != 4+2*ns {
		return fmt.Errorf("jpegscale: SOS: %d components in %d bytes: %w", ns, len(seg), ErrCorrupt)
	}
	var comps [4]*component
	var index [4]int // of comps[i] in d.comps
	for i := range ns {
		id, sel := seg[1+2*i], seg[2+2*i]
		var c *component
		for j := range d.nf {
			if d.comps[j].id == id {
				c, index[i] = &d.comps[j], j
			}
		}
		if c == nil {
			return fmt.Errorf("jpegscale: SOS: no component %d in the frame: %w", id, ErrCorrupt)
		}
		for _, prev := range comps[:i] {
			if prev == c {
				return fmt.Errorf("jpegscale: SOS: component %d twice: %w", id, ErrCorrupt)
			}
		}
		td, ta := sel>>4, sel&15
		if td > 3 || ta > 3 {
			return fmt.Errorf("jpegscale: SOS: Huffman tables %d/%d: %w", td, ta, ErrCorrupt)
		}
		c.dc, c.ac = d.dcTables[td], d.acTables[ta]
		comps[i] = c
	}
	p := seg[1+2*ns:]
	ss, se, ah, al := int(p[0]), int(p[1]), int(p[2]>>4), int(p[2]&15)

	needDC, needAC := true, true
	var block blockFunc
	skip := false
	if !d.progressive {
		// A sequential scan always codes all 64 coefficients; libjpeg
		// ignores Ss, Se, Ah and Al there, and so do we.
		block = (*decoder).sequentialBlock
		if d.scale == 8 {
			block = (*decoder).sequentialDC
		}
	} else {
		switch {
		case ss > se || se > 63 || (ss == 0) != (se == 0) || ah > 13 || al > 13:
			return fmt.Errorf("jpegscale: progressive scan Ss=%d Se=%d Ah=%d Al=%d: %w", ss, se, ah, al, ErrCorrupt)
		case ss > 0 && ns != 1:
			return fmt.Errorf("jpegscale: progressive AC scan of %d components: %w", ns, ErrCorrupt)
		}
		d.ss, d.se, d.al = ss, se, uint(al)
		switch {
		case ss == 0 && ah == 0:
			needAC, block = false, (*decoder).dcFirst
		case ss == 0:
			needDC, needAC, block = false, false, (*decoder).dcRefine
		case ah == 0:
			needDC, block = false, (*decoder).acFirst
		default:
			needDC, block = false, (*decoder).acRefine
		}
		// At 1/8 only the DC coefficient counts: AC scans are not even
		// decoded, pos stays here and the search for the next marker
		// passes over them.
		skip = ss > 0 && d.scale == 8
	}
	for _, c := range comps[:ns] {
		if needDC && c.dc == nil || needAC && c.ac == nil {
			return fmt.Errorf("jpegscale: SOS: component %d uses an undefined Huffman table: %w", c.id, ErrCorrupt)
		}
		if !c.latched {
			t := &d.quant[c.tq]
			if !t.defined {
				return fmt.Errorf("jpegscale: component %d uses undefined quantisation table %d: %w", c.id, c.tq, ErrCorrupt)
			}
			c.q, c.latched = t.q, true
		}
		c.scanned = true
	}
	d.scans++
	if skip {
		return nil
	}
	if d.progressive && d.workers > 1 && d.scale != 8 {
		// At 1/8 only the DC chain is left: nothing to run alongside.
		d.deferScan(index[:ns], ss, block)
		return nil
	}
	return d.scan(comps[:ns], block)
}

// scan runs block over every block of the scan in order, MCU by MCU,
// handling restart markers.
func (d *decoder) scan(comps []*component, block blockFunc) error {
	d.resetBits()
	d.starved, d.eobrun = false, 0
	for _, c := range comps {
		c.pred = 0
	}
	next := 0 // number of the next RST marker
	togo := d.restartInterval
	restart := func() {
		if d.restartInterval == 0 {
			return
		}
		if togo == 0 {
			d.restart(next)
			next = (next + 1) & 7
			for _, c := range comps {
				c.pred = 0
			}
			d.eobrun = 0
			togo = d.restartInterval
		}
		togo--
	}

	if len(comps) == 1 {
		// One component alone: each block is an MCU (T.81 A.2.2).
		c := comps[0]
		for by := range c.ch {
			if j := d.job; j != nil && j.chain > 0 {
				if err := j.follow(by); err != nil {
					return err
				}
			}
			for bx := range c.cw {
				restart()
				if err := block(d, c, bx, by); err != nil {
					return err
				}
				d.starved = d.starved || d.starving()
			}
		}
		return nil
	}
	// The blocks of an MCU, in coding order (T.81 A.2.3), listed once:
	// one short loop per MCU instead of three nested ones.
	type mcuBlock struct {
		c      *component
		dx, dy int
	}
	var list [4 * 4 * 4]mcuBlock
	n := 0
	for _, c := range comps {
		for v := range c.v {
			for h := range c.h {
				list[n] = mcuBlock{c, h, v}
				n++
			}
		}
	}
	for my := range d.mcusY {
		for mx := range d.mcusX {
			restart()
			for _, b := range list[:n] {
				if err := block(d, b.c, mx*b.c.h+b.dx, my*b.c.v+b.dy); err != nil {
					return err
				}
			}
			d.starved = d.starved || d.starving()
		}
	}
	return nil
}

// restart moves to the data after RST marker number want, at the end of a
// restart interval. When the data has gone wrong it resynchronises as
// libjpeg does: it skips markers of earlier intervals; it stops at one of
// the next two intervals' markers or at any other marker, leaving the
// interval in between flat; and it takes a marker too far off to tell
// for the one it wanted.
func (d *decoder) restart(want int) {
	d.resetBits()
	for {
		at, m := nextMarker(d.data, d.pos)
		if at < 0 {
			d.pos, d.starved = len(d.data), true
			return
		}
		if m < markerSOF {
			d.pos = at + 2 // not a marker anything could mean here
			continue
		}
		if m < markerRST0 || m > markerRST7 {
			d.pos, d.starved = at, true
			return
		}
		switch (int(m) - markerRST0 - want) & 7 {
		case 1, 2:
			d.pos, d.starved = at, true
			return
		case 6, 7:
			d.pos = at + 2
			continue
		}
		d.pos, d.starved = at+2, false
		return
	}
}

// dcDiff decodes a DC difference (T.81 F.2.2.1).
func (d *decoder) dcDiff(c *component) (int32, error) {
	if d.nbits < 32 {
		d.fill()
	}
	if e := c.dc.fast[d.acc>>(64-lutBits)]; e != 0 {
		n := uint(e & 63)
		d.acc <<= n
		d.nbits -= n
		return e >> 16, nil
	}
	s := d.symbol(c.dc)
	if s < 0 {
		return 0, errBadCode
	}
	if s > 15 {
		return 0, fmt.Errorf("jpegscale: DC difference of %d bits: %w", s, ErrCorrupt)
	}
	return d.receive(uint(s)), nil
}

// sequentialBlock decodes a sequential block and writes its reduced
// samples.
func (d *decoder) sequentialBlock(c *component, bx, by int) error {
	blk := &d.blk
	if d.starved {
		d.put(c, bx, by, 0) // all zero: flat grey, as libjpeg leaves it
		return nil
	}
	diff, err := d.dcDiff(c)
	if err != nil {
		return err
	}
	c.pred += diff
	blk[0] = c.pred * c.q[0]
	last, err := d.acCoefficients(c.ac, &c.q, blk)
	if err != nil {
		return err
	}
	d.put(c, bx, by, last)
	return nil
}

// sequentialDC decodes a sequential block at 1/8, where the AC
// coefficients only need to be passed over.
func (d *decoder) sequentialDC(c *component, bx, by int) error {
	i := by*c.stride + bx
	if d.starved {
		c.plane[i] = 128
		return nil
	}
	diff, err := d.dcDiff(c)
	if err != nil {
		return err
	}
	c.pred += diff
	if err := d.skipAC(c.ac); err != nil {
		return err
	}
	c.plane[i] = dcSample(c.pred * c.q[0])
	return nil
}

// acCoefficients decodes the 63 AC coefficients of a sequential block
// into blk, dequantised by q, and returns the zigzag index of the last
// one. This is where a baseline picture spends its time, so the bit
// buffer lives in locals (registers) and the usual refill of four bytes
// without 0xFF is done in place.
func (d *decoder) acCoefficients(ac *huffTable, q *[64]int32, blk *[64]int32) (int, error) {
	acc, nbits, pos, data := d.acc, d.nbits, d.pos, d.data
	last := 0
	for k := 1; k < 64; {
		if nbits < 32 {
			// Refilled in place: as a shared function, which Go does
			// not inline, this measured 6% slower on a 12 MP photo.
			if pos+4 <= len(data) {
				w := binary.BigEndian.Uint32(data[pos:])
				if x := ^w; (x-0x01010101)&^x&0x80808080 == 0 {
					acc |= uint64(w) << (32 - nbits)
					nbits += 32
					pos += 4
				}
			}
			if nbits < 32 {
				d.acc, d.nbits, d.pos = acc, nbits, pos
				d.fill()
				acc, nbits, pos = d.acc, d.nbits, d.pos
			}
		}
		var v int32
		if e := ac.fast[acc>>(64-lutBits)]; e != 0 {
			n := uint(e & 63)
			acc <<= n
			nbits -= n
			k += int(e >> 8 & 0xff)
			v = e >> 16
		} else {
			d.acc, d.nbits = acc, nbits
			rs := d.symbol(ac)
			acc, nbits = d.acc, d.nbits
			if rs < 0 {
				d.pos = pos
				return 0, errBadCode
			}
			r, s := rs>>4, uint(rs&15)
			if s == 0 {
				if r != 15 {
					break // end of block
				}
				k += 16
				continue
			}
			k += r
			v = extend(int32(acc>>(64-s)), int(s))
			acc <<= s
			nbits -= s
		}
		if k > 63 {
			// An end of block from the fast table, or a coefficient past
			// the block, which libjpeg drops too rather than refusing
			// the picture.
			break
		}
		blk[natural[k]] = v * q[k]
		last = k
		k++
	}
	d.acc, d.nbits, d.pos = acc, nbits, pos
	return last, nil
}

// skipAC passes over the AC coefficients of a sequential block, up to
// two per lookup of the skip table; what the table does not hold takes
// acCoefficients' way, one coefficient at a time.
func (d *decoder) skipAC(ac *huffTable) error {
	acc, nbits, pos, data := d.acc, d.nbits, d.pos, d.data
	for k := uint32(1); k < 64; {
		if nbits < 32 {
			// Refilled in place: as a shared function, which Go does
			// not inline, this measured 6% slower on a 12 MP photo.
			if pos+4 <= len(data) {
				w := binary.BigEndian.Uint32(data[pos:])
				if x := ^w; (x-0x01010101)&^x&0x80808080 == 0 {
					acc |= uint64(w) << (32 - nbits)
					nbits += 32
					pos += 4
				}
			}
			if nbits < 32 {
				d.acc, d.nbits, d.pos = acc, nbits, pos
				d.fill()
				acc, nbits, pos = d.acc, d.nbits, d.pos
			}
		}
		e := ac.skip[acc>>(64-skipBits)]
		if e == 0 {
			d.acc, d.nbits, d.pos = acc, nbits, pos
			rs := d.symbol(ac)
			acc, nbits = d.acc, d.nbits
			if rs < 0 {
				return errBadCode
			}
			r, s := uint32(rs>>4), uint(rs&15)
			if s == 0 {
				if r != 15 {
					break // end of block
				}
				k += 16
				continue
			}
			acc <<= s
			nbits -= s
			k += r + 1
			continue
		}
		// Both unless the first ends the block; a plain choice between
		// two values, which the compiler makes without a branch.
		n, adv := uint(e>>skipBits1&63), e>>skipAdv1&127
		if k+adv < 64 {
			n, adv = uint(e>>skipBits2&63), e>>skipAdv2&127
		}
		acc <<= n
		nbits -= n
		k += adv
	}
	d.acc, d.nbits, d.pos = acc, nbits, pos
	return nil
}

// dcFirst decodes a block's DC coefficient in a progressive scan (T.81
// G.1.2.1). The DC is always kept, first.
func (d *decoder) dcFirst(c *component, bx, by int) error {
	if d.starved {
		return nil
	}
	diff, err := d.dcDiff(c)
	if err != nil {
		return err
	}
	c.pred += diff
	c.coef[(by*c.bw+bx)*d.xform.kept] = int16(c.pred << d.al)
	return nil
}

// dcRefine adds one more bit to a block's DC coefficient (T.81 G.1.2.1).
func (d *decoder) dcRefine(c *component, bx, by int) error {
	if d.starved {
		return nil
	}
	if d.bit() != 0 {
		c.coef[(by*c.bw+bx)*d.xform.kept] |= 1 << d.al
	}
	return nil
}

// acFirst decodes the band Ss..Se of a block's AC coefficients, first
// pass (T.81 G.1.2.2).
func (d *decoder) acFirst(c *component, bx, by int) error {
	if d.starved {
		return nil
	}
	if d.eobrun > 0 {
		d.eobrun--
		return nil
	}
	b := by*c.bw + bx
	vals := c.coef[b*d.xform.kept : (b+1)*d.xform.kept]
	slot := &d.xform.slot
	nz := c.nz[b]
	ac := c.ac
	for k := d.ss; k <= d.se; k++ {
		if d.nbits < 32 {
			d.fill()
		}
		var v int32
		if e := ac.fast[d.acc>>(64-lutBits)]; e != 0 {
			n := uint(e & 63)
			d.acc <<= n
			d.nbits -= n
			k += int(e >> 8 & 0xff)
			v = e >> 16
		} else {
			rs := d.symbol(ac)
			if rs < 0 {
				return errBadCode
			}
			r, s := rs>>4, uint(rs&15)
			if s == 0 {
				if r == 15 {
					k += 15
					continue
				}
				// The end of this block's band and of the next
				// 2^r - 1 + (r bits) blocks'.
				d.eobrun = 1<<r - 1 + d.bits(uint(r))
				break
			}
			k += r
			v = d.receive(s)
		}
		if k > 63 {
			break // end of block from the fast table, or past the block
		}
		if v != 0 {
			nz |= 1 << k
			if s := slot[k]; s >= 0 {
				vals[s] = int16(v << d.al)
			}
		}
	}
	c.nz[b] = nz
	return nil
}

// acRefine adds one more bit to the band Ss..Se of a block's AC
// coefficients (T.81 G.1.2.3): coefficients already non-zero get a
// correction bit each, and newly non-zero ones are coded as a run of
// still-zero coefficients to pass over and a sign.
func (d *decoder) acRefine(c *component, bx, by int) error {
	if d.starved {
		return nil
	}
	b := by*c.bw + bx
	vals := c.coef[b*d.xform.kept : (b+1)*d.xform.kept]
	nz := c.nz[b]
	plus := int16(1) << d.al
	k, se := d.ss, d.se
	if d.eobrun == 0 {
		for k <= se {
			if d.nbits < 32 {
				d.fill()
			}
			rs := d.symbol(c.ac)
			if rs < 0 {
				return errBadCode
			}
			r, s := int(rs>>4), rs&15
			var v int16
			switch {
			case s != 0:
				// s can only be 1 here; libjpeg takes any other value
				// for 1 as well.
				v = -plus
				if d.bit() != 0 {
					v = plus
				}
			case r != 15:
				d.eobrun = 1<<r + d.bits(uint(r))
			}
			if d.eobrun > 0 {
				break
			}
			// Pass r still-zero coefficients, correcting the non-zero
			// ones met on the way, and put v at the next still-zero one:
			// the (r+1)th zero bit of nz from k on.
			band := ^uint64(0) << k & (2<<se - 1)
			zero := ^nz & band
			for ; r > 0 && zero != 0; r-- {
				zero &= zero - 1
			}
			next := se + 1
			if zero != 0 {
				next = bits.TrailingZeros64(zero)
			}
			d.correctAll(vals, nz&band&(1<<next-1), plus)
			if next <= se && v != 0 {
				nz |= 1 << next
				if s := d.xform.slot[next]; s >= 0 {
					vals[s] = v
				}
			}
			k = next + 1
		}
	}
	if d.eobrun > 0 {
		// Only the non-zero coefficients left in the band get a bit.
		d.correctAll(vals, nz>>k<<k&(2<<se-1), plus)
		d.eobrun--
	}
	c.nz[b] = nz
	return nil
}

// correctAll reads a correction bit for each non-zero coefficient whose
// bit is set in m, in zigzag order.
func (d *decoder) correctAll(vals []int16, m uint64, plus int16) {
	acc, nbits := d.acc, d.nbits
	for ; m != 0; m &= m - 1 {
		if nbits == 0 {
			d.acc, d.nbits = acc, nbits
			d.fill()
			acc, nbits = d.acc, d.nbits
		}
		if acc>>63 != 0 {
			d.correct(vals, bits.TrailingZeros64(m), plus)
		}
		acc <<= 1
		nbits--
	}
	d.acc, d.nbits = acc, nbits
}

// correct applies a correction bit of 1 to non-zero coefficient k: it
// adds plus to its magnitude (v>>15|1 being its sign), unless it has that
// bit already. A coefficient that is not kept needs nothing.
func (d *decoder) correct(vals []int16, k int, plus int16) {
	if s := d.xform.slot[k&63]; s >= 0 {
		if v := vals[s]; v&plus == 0 {
			vals[s] = v + plus*(v>>15|1)
		}
	}
}
