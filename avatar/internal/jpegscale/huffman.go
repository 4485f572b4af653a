package jpegscale

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// lutBits is how many bits of lookahead resolve a code in one step. Nearly
// all codes in photos are shorter; 10 bits also leave room for the
// coefficient's extra bits after most AC codes (see huffTable.fast).
const lutBits = 10

// huffTable is one DHT table, arranged for decoding. A table is never
// changed once built (a DHT that redefines it builds a new one), so that
// a scan whose decoding is deferred keeps the tables in force at its
// header.
type huffTable struct {
	// lut maps the next lutBits bits to length<<8 | symbol when they start
	// with a code of at most lutBits bits, else to 0.
	lut [1 << lutBits]uint16
	// fast maps the next lutBits bits to value<<16 | run<<8 | bits when
	// they hold a whole coefficient or DC difference (code and extra bits,
	// value already sign-extended), else to 0. This turns the usual
	// coefficient into one lookup and one shift. In AC tables, end of
	// block (EOB, not EOBn) and ZRL are zero values after runs of 64 and
	// 15.
	fast [1 << lutBits]int32
	// skip serves sequentialDC, which only passes over AC coefficients:
	// it maps the next skipBits bits to up to two whole coefficients (see
	// buildSkip), else to 0.
	skip []uint32
	// maxCode[l] is the largest code of l bits, -1 if none; valOff[l] turns
	// a code of l bits into an index into vals (T.81 F.2.2.3).
	maxCode [17]int32
	valOff  [17]int32
	vals    [256]byte
}

// build makes the canonical codes of T.81 Annex C from the count of codes
// of each length and the symbols in code order.
func (t *huffTable) build(counts []byte, vals []byte, ac bool) error {
	copy(t.vals[:], vals)
	code, k := int32(0), int32(0)
	for l := 1; l <= 16; l++ {
		n := int32(counts[l-1])
		t.maxCode[l] = -1
		if n > 0 {
			// Codes that no longer fit in l bits mean the counts lie.
			if code+n > 1<<l {
				return fmt.Errorf("jpegscale: Huffman table with too many %d-bit codes: %w", l, ErrCorrupt)
			}
			t.valOff[l] = k - code
			for range n {
				if l <= lutBits {
					first := code << (lutBits - l)
					for i := range int32(1) << (lutBits - l) {
						t.lut[first+i] = uint16(l)<<8 | uint16(t.vals[k])
					}
				}
				code++
				k++
			}
			t.maxCode[l] = code - 1
		}
		code <<= 1
	}
	t.buildFast(ac)
	if ac {
		t.buildSkip()
	}
	return nil
}

// skipBits is the lookahead of the skip table: 4096 entries, 16 KB,
// enough to hold two coefficients of a photo most of the time.
const skipBits = 12

// Fields of a skip entry: bits and zigzag advance of the first
// coefficient, then of the first two together (the first again when only
// it fits).
const (
	skipBits1 = 0  // 6 bits
	skipAdv1  = 6  // 7 bits
	skipBits2 = 13 // 6 bits
	skipAdv2  = 19 // 7 bits
)

// coefficientAt returns the bits (code and extra bits) and the zigzag
// advance of the AC coefficient at the start of the n-bit lookahead look,
// or ok false when it does not lie whole within it or takes the long way
// (codes over lutBits, EOBn). End of block advances 65: past any block.
func (t *huffTable) coefficientAt(look uint32, n int) (bits, adv uint32, ok bool) {
	if n <= 0 {
		return 0, 0, false
	}
	var top uint32
	if n >= lutBits {
		top = look >> (n - lutBits)
	} else {
		top = look << (lutBits - n)
	}
	e := t.lut[top&(1<<lutBits-1)]
	l := int(e >> 8)
	if e == 0 || l > n {
		return 0, 0, false
	}
	sym := int(e & 0xff)
	run, size := sym>>4, sym&15
	switch {
	case sym == 0x00:
		return uint32(l), 65, true
	case sym == 0xf0:
		return uint32(l), 16, true
	case size == 0 || l+size > n:
		return 0, 0, false
	}
	return uint32(l + size), uint32(run + 1), true
}

// buildSkip fills skip: for each lookahead, the first coefficient and,
// when it does not end the block and the next one lies whole within the
// lookahead too, both together. Passing over two coefficients per lookup
// is what makes the 1/8 scale of a baseline photo cheap.
func (t *huffTable) buildSkip() {
	t.skip = make([]uint32, 1<<skipBits)
	for look := range uint32(1 << skipBits) {
		n1, a1, ok := t.coefficientAt(look, skipBits)
		if !ok {
			continue
		}
		// Without a second coefficient, the pair is the first alone, so
		// that skipAC chooses by where the block stands, not by the entry.
		both, bothAdv := n1, a1
		if a1 <= 16 {
			rest := skipBits - int(n1)
			if n2, a2, ok := t.coefficientAt(look&(1<<rest-1), rest); ok {
				both, bothAdv = n1+n2, a1+a2
			}
		}
		t.skip[look] = n1<<skipBits1 | a1<<skipAdv1 | both<<skipBits2 | bothAdv<<skipAdv2
	}
}

func (t *huffTable) buildFast(ac bool) {
	for look, e := range t.lut {
		if e == 0 {
			continue
		}
		l, sym := int(e>>8), int(e&0xff)
		run, size := 0, sym // a DC symbol is the size of a difference
		if ac {
			run, size = sym>>4, sym&15
		}
		switch {
		case ac && sym == 0x00:
			// End of block: a run past the end of any block, of zeros.
			t.fast[look] = 64<<8 | int32(l)
		case ac && sym == 0xf0:
			// Sixteen zeros: a run of 15 and a zero.
			t.fast[look] = 15<<8 | int32(l)
		case !ac && size == 0:
			t.fast[look] = int32(l)
		case size == 0 || size > 15 || l+size > lutBits:
			// EOBn, a bad DC size, or extra bits past the lookahead: these
			// take the long way.
		default:
			extra := int32(look>>(lutBits-l-size)) & (1<<size - 1)
			t.fast[look] = extend(extra, size)<<16 | int32(run)<<8 | int32(l+size)
		}
	}
}

// extend turns the size extra bits that follow a code into the signed
// value they stand for (T.81 F.2.2.1): the lower half of each size class
// holds the negative values.
func extend(v int32, size int) int32 {
	if v < 1<<(size-1) {
		v -= 1<<size - 1
	}
	return v
}

// fill tops the bit buffer up to at least 57 bits. Past the end of the
// entropy-coded data (a marker, or no more bytes) it adds zero bits and
// counts them in pad, so that a truncated file still decodes to the end
// and the scan can tell that it ran dry.
func (d *decoder) fill() {
	// Whole bytes at a time while the next eight hold no 0xFF, which needs
	// a look at stuffing or a marker: that is nearly always the case.
	if p := d.pos; p+8 <= len(d.data) && d.nbits <= 56 {
		w := binary.BigEndian.Uint64(d.data[p:])
		if x := ^w; (x-0x0101010101010101)&^x&0x8080808080808080 == 0 {
			n := (64 - d.nbits) >> 3
			d.acc |= w &^ (1<<(64-8*n) - 1) >> d.nbits
			d.nbits += 8 * n
			d.pos = p + int(n)
			return
		}
	}
	for d.nbits <= 56 {
		if d.end {
			d.pad += 64 - d.nbits
			d.nbits = 64
			return
		}
		p := d.pos
		if p >= len(d.data) {
			d.end = true
			continue
		}
		b := d.data[p]
		if b == 0xff {
			// 0xFF 0x00 is a stuffed 0xFF; anything else is a marker,
			// left in place for whoever reads markers.
			if p+1 >= len(d.data) || d.data[p+1] != 0 {
				d.end = true
				continue
			}
			p++
		}
		d.pos = p + 1
		d.acc |= uint64(b) << (56 - d.nbits)
		d.nbits += 8
	}
}

// starving reports whether decoding has used bits that were not in the
// data.
func (d *decoder) starving() bool { return d.nbits < d.pad }

func (d *decoder) resetBits() {
	d.acc, d.nbits, d.pad, d.end = 0, 0, 0, false
}

// symbol decodes one Huffman code, or returns -1 for a bit pattern that
// is no code of the table. The caller has made sure of 16 bits.
func (d *decoder) symbol(t *huffTable) int {
	e := t.lut[d.acc>>(64-lutBits)]
	if e == 0 {
		return d.longSymbol(t)
	}
	l := uint(e>>8) & 63
	d.acc <<= l
	d.nbits -= l
	return int(e & 0xff)
}

func (d *decoder) longSymbol(t *huffTable) int {
	for l := uint(lutBits + 1); l <= 16; l++ {
		if code := int32(d.acc >> (64 - l)); code <= t.maxCode[l] {
			d.acc <<= l
			d.nbits -= l
			return int(t.vals[(t.valOff[l]+code)&0xff])
		}
	}
	return -1
}

var errBadCode = fmt.Errorf("jpegscale: bad Huffman code: %w", ErrCorrupt)

// receive reads size (at most 16) extra bits and extends them to a signed
// value. The caller has made sure of the bits.
func (d *decoder) receive(size uint) int32 {
	if size == 0 {
		return 0
	}
	v := int32(d.acc >> (64 - size&63))
	d.acc <<= size & 63
	d.nbits -= size
	return extend(v, int(size))
}

// bits reads n (at most 16) bits as an unsigned number.
func (d *decoder) bits(n uint) int {
	if n == 0 {
		return 0
	}
	if d.nbits < n {
		d.fill()
	}
	v := int(d.acc >> (64 - n))
	d.acc <<= n
	d.nbits -= n
	return v
}

// bit reads one bit.
func (d *decoder) bit() uint64 {
	if d.nbits == 0 {
		d.fill()
	}
	b := d.acc >> 63
	d.acc <<= 1
	d.nbits--
	return b
}

// nextMarker finds the next marker at or after from: an 0xFF followed,
// after any 0xFF fill bytes, by a byte other than 0x00 (a stuffed 0xFF in
// entropy-coded data). It returns the position of the 0xFF just before the
// marker byte and the marker byte, or -1 when the data ends first.
func nextMarker(data []byte, from int) (int, byte) {
	for from < len(data) {
		i := bytes.IndexByte(data[from:], 0xff)
		if i < 0 {
			break
		}
		j := from + i + 1
		for j < len(data) && data[j] == 0xff {
			j++
		}
		if j >= len(data) {
			break
		}
		if data[j] != 0 {
			return j - 1, data[j]
		}
		from = j + 1
	}
	return -1, 0
}
