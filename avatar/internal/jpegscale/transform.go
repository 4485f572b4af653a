package jpegscale

import (
	"math"
	"sync"
	"sync/atomic"
)

// fracBits is the fixed-point precision of the reduced transform: its
// rounding stays far below a level for any real block, and two passes
// over any coefficients stay inside an int.
const fracBits = 13

// xform is the reduced inverse DCT for one scale. Output sample x of a
// block row is sum over u of m[x][u]*F(u): the average over the scale
// samples that x stands for of the full 8-point inverse transform,
// C(u)/2 * cos((2x'+1)u pi/16) (T.81 A.3.3). Applied to rows, then to
// columns, it gives the exact mean of each scale x scale cell.
type xform struct {
	m [4][8]int
	// rowBound[k] is the last row that the first k+1 coefficients in
	// zigzag order reach: a block whose last non-zero coefficient is k
	// has nothing below it.
	rowBound [64]uint8
	// A frequency whose cosines cancel out over every cell (u = 4 at 1/2,
	// even u >= 2 at 1/4, all but 0 at 1/8) adds nothing to any sample,
	// so a coefficient with such a row or column frequency need not be
	// kept. slot[k] is where zigzag coefficient k is kept, -1 if it is not;
	// kept is how many are (49, 25, 1), zigzag[s] the index in slot s.
	slot   [64]int8
	kept   int
	zigzag [64]uint8
}

func (d *decoder) initTransform() {
	t := &d.xform
	for x := range d.side {
		for u := range 8 {
			sum := 0.0
			for xf := x * d.scale; xf < (x+1)*d.scale; xf++ {
				sum += math.Cos(float64((2*xf+1)*u) * math.Pi / 16)
			}
			cu := 1.0
			if u == 0 {
				cu = 1 / math.Sqrt2
			}
			t.m[x][u] = int(math.Round(cu / 2 * sum / float64(d.scale) * (1 << fracBits)))
		}
	}
	var row uint8
	for k, z := range natural {
		row = max(row, z>>3)
		t.rowBound[k] = row
	}
	var used [8]bool
	for u := range 8 {
		for x := range d.side {
			used[u] = used[u] || t.m[x][u] != 0
		}
	}
	for k, z := range natural {
		t.slot[k] = -1
		if used[z>>3] && used[z&7] {
			t.slot[k] = int8(t.kept)
			t.zigzag[t.kept] = uint8(k)
			t.kept++
		}
	}
}

func clamp8(v int) byte {
	if uint(v) > 255 {
		if v < 0 {
			return 0
		}
		return 255
	}
	return byte(v)
}

// dcSample is the mean of a block whose dequantised DC coefficient is dc:
// dc/8, level-shifted back by 128 (T.81 A.3.1).
func dcSample(dc int32) byte {
	return clamp8(int((dc+4)>>3) + 128)
}

// put writes the reduced samples of the block in d.blk (dequantised,
// natural order, nothing non-zero past zigzag index last) to c's plane at
// block bx, by, and leaves d.blk zero for the next block.
func (d *decoder) put(c *component, bx, by, last int) {
	blk := &d.blk
	n := d.side
	o := by*n*c.stride + bx*n
	if last == 0 {
		v := dcSample(blk[0])
		blk[0] = 0
		for y := range n {
			row := c.plane[o+y*c.stride : o+y*c.stride+n]
			for x := range row {
				row[x] = v
			}
		}
		return
	}
	rows := int(d.xform.rowBound[last&63]) + 1
	dst := c.plane[o:]
	if n == 2 {
		d.put2(dst, c.stride, rows)
	} else {
		d.put4(dst, c.stride, rows)
	}
}

// The reduced transforms below use the symmetry of the cosines: cell
// side-1-x is cell x mirrored, so m[side-1-x][u] = (-1)^u m[x][u], and
// each pair of outputs is the sum and the difference of an even and an odd
// part. Rows past the last non-zero one are skipped; within a row all
// eight coefficients are used, zero or not, as that is cheaper than
// branching.

// put2 is the 2x2 transform (scale 4). Only u = 0 and odd u count: for
// even u >= 2 the cosines over each half of the block cancel out.
func (d *decoder) put2(dst []byte, stride, rows int) {
	m := &d.xform.m[0]
	var t [8][2]int
	for v := range rows {
		r := (*[8]int32)(d.blk[v*8 : v*8+8])
		e := m[0] * int(r[0])
		o := m[1]*int(r[1]) + m[3]*int(r[3]) + m[5]*int(r[5]) + m[7]*int(r[7])
		t[v] = [2]int{e + o, e - o}
		*r = [8]int32{}
	}
	for x := range 2 {
		e := m[0] * t[0][x]
		o := m[1]*t[1][x] + m[3]*t[3][x] + m[5]*t[5][x] + m[7]*t[7][x]
		dst[x] = descale(e + o)
		dst[stride+x] = descale(e - o)
	}
}

// put4 is the 4x4 transform (scale 2). u = 4 does not count: its cosines
// cancel out over each pair of samples.
func (d *decoder) put4(dst []byte, stride, rows int) {
	m0, m1 := &d.xform.m[0], &d.xform.m[1]
	var t [8][4]int
	for v := range rows {
		r := (*[8]int32)(d.blk[v*8 : v*8+8])
		f0, f1, f2, f3 := int(r[0]), int(r[1]), int(r[2]), int(r[3])
		f5, f6, f7 := int(r[5]), int(r[6]), int(r[7])
		e0 := m0[0]*f0 + m0[2]*f2 + m0[6]*f6
		o0 := m0[1]*f1 + m0[3]*f3 + m0[5]*f5 + m0[7]*f7
		e1 := m1[0]*f0 + m1[2]*f2 + m1[6]*f6
		o1 := m1[1]*f1 + m1[3]*f3 + m1[5]*f5 + m1[7]*f7
		t[v] = [4]int{e0 + o0, e1 + o1, e1 - o1, e0 - o0}
		*r = [8]int32{}
	}
	for x := range 4 {
		f0, f1, f2, f3 := t[0][x], t[1][x], t[2][x], t[3][x]
		f5, f6, f7 := t[5][x], t[6][x], t[7][x]
		e0 := m0[0]*f0 + m0[2]*f2 + m0[6]*f6
		o0 := m0[1]*f1 + m0[3]*f3 + m0[5]*f5 + m0[7]*f7
		e1 := m1[0]*f0 + m1[2]*f2 + m1[6]*f6
		o1 := m1[1]*f1 + m1[3]*f3 + m1[5]*f5 + m1[7]*f7
		dst[x] = descale(e0 + o0)
		dst[stride+x] = descale(e1 + o1)
		dst[2*stride+x] = descale(e1 - o1)
		dst[3*stride+x] = descale(e0 - o0)
	}
}

// descale turns a sum of products with two fixed-point factors into a
// level-shifted sample.
func descale(s int) byte {
	return clamp8((s+1<<(2*fracBits-1))>>(2*fracBits) + 128)
}

// transformCoefficients turns a progressive picture's coefficients, all
// scans read, into reduced samples.
func (d *decoder) transformCoefficients() {
	if d.scale == 8 {
		// One coefficient and one sample per block, in the same order.
		for i := range d.nf {
			c := &d.comps[i]
			q := c.q[0]
			for j, dc := range c.coef {
				c.plane[j] = dcSample(int32(dc) * q)
			}
		}
		return
	}
	if d.workers == 1 {
		for i := range d.nf {
			d.transformRows(&d.comps[i], 0, d.comps[i].bh)
		}
		return
	}
	// Rows of blocks are independent: each component is cut into as
	// many bands as there are goroutines, which take them in turn, each
	// with its own copy of the decoder for the block it works on.
	type band struct {
		c        *component
		from, to int
	}
	var bands []band
	for i := range d.nf {
		c := &d.comps[i]
		n := ceilDiv(c.bh, d.workers)
		for by := 0; by < c.bh; by += n {
			bands = append(bands, band{c, by, min(by+n, c.bh)})
		}
	}
	var next atomic.Int32
	run := func() {
		w := *d
		for {
			i := int(next.Add(1)) - 1
			if i >= len(bands) {
				return
			}
			w.transformRows(bands[i].c, bands[i].from, bands[i].to)
		}
	}
	var wg sync.WaitGroup
	for range min(d.workers, len(bands)) - 1 {
		wg.Go(run)
	}
	run()
	wg.Wait()
}

// transformRows turns the coefficients of c's rows of blocks from to to
// into reduced samples.
func (d *decoder) transformRows(c *component, from, to int) {
	kept, zigzag := d.xform.kept, d.xform.zigzag[:d.xform.kept]
	for by := from; by < to; by++ {
		for bx := range c.bw {
			b := by*c.bw + bx
			last := 0
			for s, f := range c.coef[b*kept : b*kept+kept] {
				if f != 0 {
					k := zigzag[s]
					d.blk[natural[k&63]] = int32(f) * c.q[k&63]
					last = int(k)
				}
			}
			d.put(c, bx, by, last)
		}
	}
}
