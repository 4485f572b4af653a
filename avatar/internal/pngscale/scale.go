package pngscale

import (
	"image"
)

// scaler turns unfiltered rows into the reduced picture. At scale 1 it
// writes pixels straight into it; otherwise it sums each k x k block into
// accumulators, four per output pixel: the channels weighted by alpha and
// alpha itself (or, for a picture without transparency, the plain
// channels), in the samples' own precision, and divides once per block.
type scaler struct {
	d      *decoder
	k      int
	out    *image.NRGBA
	alpha  bool // the sums are alpha-weighted
	wide   bool // 16-bit samples
	pix8   []uint8
	pix16  []uint16
	acc    []uint64
	accRow int // output rows acc holds: one block row, or all when interlaced
}

func newScaler(d *decoder) *scaler {
	k := d.scale
	ow, oh := (d.width+k-1)/k, (d.height+k-1)/k
	s := &scaler{d: d, k: k, out: image.NewNRGBA(image.Rect(0, 0, ow, oh)), alpha: d.hasAlpha(), wide: d.depth == 16}
	if s.wide {
		s.pix16 = make([]uint16, 4*d.width)
	} else {
		s.pix8 = make([]uint8, 4*d.width)
	}
	if k > 1 {
		s.accRow = 1
		if d.interlaced {
			// Every pass covers the whole picture: the blocks fill up
			// only with the last one.
			s.accRow = oh
		}
		s.acc = make([]uint64, 4*ow*s.accRow)
	}
	return s
}

// row takes row y of the picture, or the part of it that pass p holds:
// pw pixels at p.x0, p.x0+p.dx, ...
func (s *scaler) row(cdat []byte, pw int, p pass, y int) {
	if s.wide {
		px := s.pix16[:4*pw]
		s.d.expand16(px, cdat)
		s.add16(px, p, y)
	} else {
		px := s.pix8[:4*pw]
		s.d.expand8(px, cdat, pw)
		s.add8(px, p, y)
	}
	if !s.d.interlaced && s.k > 1 && ((y+1)%s.k == 0 || y+1 == s.d.height) {
		s.flush(y/s.k, s.acc)
		clear(s.acc)
	}
}

func (s *scaler) finish() *image.NRGBA {
	if s.d.interlaced && s.k > 1 {
		ow := s.out.Rect.Dx()
		for oy := range s.accRow {
			s.flush(oy, s.acc[4*ow*oy:4*ow*(oy+1)])
		}
	}
	return s.out
}

// cells returns the accumulators of output row y/k.
func (s *scaler) cells(y int) []uint64 {
	ow := s.out.Rect.Dx()
	if s.accRow == 1 {
		return s.acc[:4*ow]
	}
	oy := y / s.k
	return s.acc[4*ow*oy : 4*ow*(oy+1)]
}

func (s *scaler) add8(px []uint8, p pass, y int) {
	if s.k == 1 {
		o := s.out.Pix[y*s.out.Stride:]
		if p.dx == 1 {
			copy(o, px)
			return
		}
		for i := 0; i < len(px); i += 4 {
			x := p.x0 + i/4*p.dx
			copy(o[4*x:4*x+4], px[i:i+4])
		}
		return
	}
	acc := s.cells(y)
	if p.dx == 1 {
		// Whole rows: sum each block's run of pixels, then add it once.
		k, w := s.k, len(px)/4
		for ox := 0; ox*k < w; ox++ {
			var r, g, b, a uint64
			run := px[4*ox*k : 4*min(w, (ox+1)*k)]
			if s.alpha {
				for i := 0; i+3 < len(run); i += 4 {
					al := uint64(run[i+3])
					r += uint64(run[i]) * al
					g += uint64(run[i+1]) * al
					b += uint64(run[i+2]) * al
					a += al
				}
			} else {
				for i := 0; i+3 < len(run); i += 4 {
					r += uint64(run[i])
					g += uint64(run[i+1])
					b += uint64(run[i+2])
				}
			}
			c := acc[4*ox : 4*ox+4]
			c[0] += r
			c[1] += g
			c[2] += b
			c[3] += a
		}
		return
	}
	addSpaced(acc, px, p, s.k, s.alpha)
}

func (s *scaler) add16(px []uint16, p pass, y int) {
	if s.k == 1 {
		// 16 to 8 bits as image/color's conversions (and imaging) do.
		o := s.out.Pix[y*s.out.Stride:]
		for i := 0; i+3 < len(px); i += 4 {
			x := p.x0 + i/4*p.dx
			o[4*x] = uint8(px[i] >> 8)
			o[4*x+1] = uint8(px[i+1] >> 8)
			o[4*x+2] = uint8(px[i+2] >> 8)
			o[4*x+3] = uint8(px[i+3] >> 8)
		}
		return
	}
	acc := s.cells(y)
	addSpaced(acc, px, p, s.k, s.alpha)
}

// flush writes output row oy from its sums, rounding each average to the
// nearest sample (16-bit averages are then cut to 8 bits, as at scale 1).
func (s *scaler) flush(oy int, acc []uint64) {
	k, w, h := uint64(s.k), uint64(s.d.width), uint64(s.d.height)
	ny := min(k, h-uint64(oy)*k)
	o := s.out.Pix[oy*s.out.Stride:]
	for ox := range uint64(s.out.Rect.Dx()) {
		n := ny * min(k, w-ox*k)
		c := acc[4*ox : 4*ox+4]
		var v [4]uint64
		if !s.alpha {
			for i := range 3 {
				v[i] = (c[i] + n/2) / n
			}
			v[3] = 0xff
			if s.wide {
				v[3] = 0xffff
			}
		} else if sa := c[3]; sa != 0 {
			for i := range 3 {
				v[i] = (c[i] + sa/2) / sa
			}
			v[3] = (sa + n/2) / n
		}
		if s.wide {
			for i := range v {
				v[i] >>= 8
			}
		}
		p := o[4*ox : 4*ox+4]
		p[0], p[1], p[2], p[3] = uint8(v[0]), uint8(v[1]), uint8(v[2]), uint8(v[3])
	}
}

// expand8 writes the pixels of a row of samples of 8 bits or fewer as
// NRGBA, with image/png's rules for tRNS and the palette.
func (d *decoder) expand8(px, cdat []byte, pw int) {
	switch d.ctype {
	case ctGrey:
		ty, trns := d.trns[1], d.hasTRNS
		mul := uint8(map8[d.depth])
		for x := range pw {
			v := sample(cdat, x, d.depth) * mul
			a := uint8(0xff)
			if trns && v == ty {
				a = 0
			}
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = v, v, v, a
		}
	case ctPalette:
		for x := range pw {
			c := d.palette[sample(cdat, x, d.depth)]
			copy(px[4*x:4*x+4], c[:])
		}
	case ctGreyAlpha:
		for x := range pw {
			v := cdat[2*x]
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = v, v, v, cdat[2*x+1]
		}
	case ctRGB:
		// image/png compares the low bytes of tRNS's 16-bit samples.
		tr, tg, tb, trns := d.trns[1], d.trns[3], d.trns[5], d.hasTRNS
		for x := range pw {
			r, g, b := cdat[3*x], cdat[3*x+1], cdat[3*x+2]
			a := uint8(0xff)
			if trns && r == tr && g == tg && b == tb {
				a = 0
			}
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = r, g, b, a
		}
	case ctRGBA:
		copy(px, cdat[:4*pw])
	}
}

// map8 scales a sample of 1, 2 or 4 bits to 8 by multiplication.
var map8 = [9]uint8{1: 0xff, 2: 0x55, 4: 0x11, 8: 1}

// sample returns sample x of a row of depth-bit samples, packed from the
// most significant bit.
func sample(cdat []byte, x, depth int) uint8 {
	if depth == 8 {
		return cdat[x]
	}
	bit := x * depth
	return cdat[bit/8] >> (8 - depth - bit%8) & (1<<depth - 1)
}

// expand16 writes the pixels of a row of 16-bit samples as NRGBA64
// numbers, with image/png's rule for tRNS (all 16 bits compared).
func (d *decoder) expand16(px []uint16, cdat []byte) {
	be := func(i int) uint16 { return uint16(cdat[i])<<8 | uint16(cdat[i+1]) }
	pw := len(px) / 4
	switch d.ctype {
	case ctGrey:
		ty, trns := uint16(d.trns[0])<<8|uint16(d.trns[1]), d.hasTRNS
		for x := range pw {
			v := be(2 * x)
			a := uint16(0xffff)
			if trns && v == ty {
				a = 0
			}
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = v, v, v, a
		}
	case ctGreyAlpha:
		for x := range pw {
			v := be(4 * x)
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = v, v, v, be(4*x+2)
		}
	case ctRGB:
		tr := uint16(d.trns[0])<<8 | uint16(d.trns[1])
		tg := uint16(d.trns[2])<<8 | uint16(d.trns[3])
		tb := uint16(d.trns[4])<<8 | uint16(d.trns[5])
		for x := range pw {
			r, g, b := be(6*x), be(6*x+2), be(6*x+4)
			a := uint16(0xffff)
			if d.hasTRNS && r == tr && g == tg && b == tb {
				a = 0
			}
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = r, g, b, a
		}
	case ctRGBA:
		for x := range pw {
			px[4*x], px[4*x+1], px[4*x+2], px[4*x+3] = be(8*x), be(8*x+2), be(8*x+4), be(8*x+6)
		}
	}
}

// addSpaced adds a row's pixels, p.dx apart, to the cells of their
// blocks, weighted by alpha when the picture has it: an interlaced pass's
// 8-bit rows, and every 16-bit row.
func addSpaced[T uint8 | uint16](acc []uint64, px []T, p pass, k int, alpha bool) {
	for i := 0; i+3 < len(px); i += 4 {
		c := acc[4*((p.x0+i/4*p.dx)/k):]
		if alpha {
			al := uint64(px[i+3])
			c[0] += uint64(px[i]) * al
			c[1] += uint64(px[i+1]) * al
			c[2] += uint64(px[i+2]) * al
			c[3] += al
		} else {
			c[0] += uint64(px[i])
			c[1] += uint64(px[i+1])
			c[2] += uint64(px[i+2])
		}
	}
}
