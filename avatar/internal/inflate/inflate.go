package inflate

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

const (
	windowSize = 1 << 15
	// outSize is how much is decoded between two reads of the caller:
	// large enough that sliding the window (a 32 KiB copy) costs little,
	// small enough that window and output stay in the L2 cache.
	outSize = 1 << 17

	maxMatch = 258
	// fastMargin is the output space the fast loop wants before each
	// symbol: the longest match, plus the 8-byte copies' overshoot.
	fastMargin = maxMatch + 8
)

// ErrCorrupt is what every malformed stream's error wraps, beside the
// detail.
var ErrCorrupt = errors.New("inflate: corrupt stream")

var errTruncated = fmt.Errorf("inflate: stream cut short: %w", io.ErrUnexpectedEOF)

func corrupt(format string, args ...any) error {
	return fmt.Errorf("%w: "+format, append([]any{ErrCorrupt}, args...)...)
}

type state uint8

const (
	stateBlockHeader state = iota
	stateStored
	stateHuffman
	stateDone
)

// A Reader inflates a zlib stream held in memory as a list of slices.
// It keeps the 32 KiB window and the output not yet read, nothing else
// that grows with the stream.
type Reader struct {
	chunks [][]byte // input not reached yet
	in     []byte   // the rest of the current chunk

	// bits holds nbits input bits, first bit lowest. The bits above
	// nbits may be set: they are then the input's next bits, so that
	// OR-ing those in again leaves them unchanged.
	bits  uint64
	nbits uint
	// pad counts the zero bytes fed into bits past the input's end, so
	// that consuming any of them can be told a truncated stream.
	pad int

	// buf is the window then the output; buf[:w] is decoded, buf[r:w]
	// not yet read.
	buf  []byte
	r, w int

	state    state
	final    bool // the current block is the last one
	stored   int  // bytes left in the stored block
	copyLen  int  // bytes left of a match cut by the output's end
	copyDist int

	lit  *[litTableSize]uint32
	dist *[distTableSize]uint32

	s1, s2 uint32 // Adler-32 of buf[:w] and what came before

	err error

	dyn struct {
		lit     [litTableSize]uint32
		dist    [distTableSize]uint32
		clen    [clenTableSize]uint32
		lengths [numLit + numDist]uint8
	}
}

// NewReader checks the zlib header (RFC 1950) at the start of the
// stream made of the chunks, one after the other, and returns a reader
// of the inflated data. The chunks must not change until it is done.
func NewReader(chunks [][]byte) (*Reader, error) {
	d := &Reader{chunks: chunks, buf: make([]byte, windowSize+outSize), s1: 1}
	var h [2]byte
	for i := range h {
		c, ok := d.inputByte()
		if !ok {
			return nil, fmt.Errorf("inflate: zlib header: %w", io.ErrUnexpectedEOF)
		}
		h[i] = c
	}
	switch {
	case h[0]&0x0f != 8:
		return nil, corrupt("zlib header: compression method %d, not deflate", h[0]&0x0f)
	case h[0]>>4 > 7:
		return nil, corrupt("zlib header: window of 2^%d bytes, over 32 KiB", h[0]>>4+8)
	case binary.BigEndian.Uint16(h[:])%31 != 0:
		return nil, corrupt("zlib header: bad check bits")
	case h[1]&0x20 != 0:
		return nil, corrupt("zlib header: wants a preset dictionary")
	}
	return d, nil
}

// Read hands out the inflated data. It returns io.EOF once the stream's
// end and its checksum have been read, and reads no further: bytes
// after the stream are left alone (see Trailing).
func (d *Reader) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for d.r == d.w {
		if d.err != nil {
			return 0, d.err
		}
		d.fill()
	}
	n := copy(p, d.buf[d.r:d.w])
	d.r += n
	return n, nil
}

// Trailing reports how many input bytes follow the end of the stream,
// once Read has returned io.EOF.
func (d *Reader) Trailing() int {
	n := len(d.in) + int(d.nbits/8) - d.pad
	for _, c := range d.chunks {
		n += len(c)
	}
	return n
}

// fill decodes into the free output space, after sliding the window if
// the buffer is full, until the space or the stream ends. It is called
// with everything decoded read.
func (d *Reader) fill() {
	if d.w == len(d.buf) {
		copy(d.buf, d.buf[d.w-windowSize:d.w])
		d.w, d.r = windowSize, windowSize
	}
	start := d.w
	err := d.decode()
	d.s1, d.s2 = adlerUpdate(d.s1, d.s2, d.buf[start:d.w])
	if err == nil && d.state == stateDone {
		err = d.checkTrailer()
	}
	d.err = err
}

// decode runs the blocks until the output space or the stream ends.
func (d *Reader) decode() error {
	for d.w < len(d.buf) {
		switch d.state {
		case stateBlockHeader:
			if d.final {
				d.state = stateDone
				return nil
			}
			if err := d.blockHeader(); err != nil {
				return err
			}
		case stateStored:
			if err := d.copyStored(); err != nil {
				return err
			}
		case stateHuffman:
			if err := d.huffman(); err != nil {
				return err
			}
		case stateDone:
			return nil
		}
	}
	return nil
}

// checkTrailer reads the Adler-32 after the last block.
func (d *Reader) checkTrailer() error {
	d.bits >>= d.nbits % 8
	d.nbits -= d.nbits % 8
	var sum uint32
	for range 4 {
		c, ok := d.alignedByte()
		if !ok {
			return errTruncated
		}
		sum = sum<<8 | uint32(c)
	}
	if want := d.s2<<16 | d.s1; sum != want {
		return corrupt("checksum %08x, data's is %08x", sum, want)
	}
	return io.EOF
}

// inputByte takes the next input byte past the bit buffer.
func (d *Reader) inputByte() (byte, bool) {
	for len(d.in) == 0 {
		if len(d.chunks) == 0 {
			return 0, false
		}
		d.in, d.chunks = d.chunks[0], d.chunks[1:]
	}
	c := d.in[0]
	d.in = d.in[1:]
	return c, true
}

// refill tops the bit buffer up to 56 to 63 bits (what the fast loop's
// refill also leaves), a byte at a time, with zeros past the input's end.
func (d *Reader) refill() {
	for d.nbits < 56 {
		c, ok := d.inputByte()
		if !ok {
			d.pad++
		}
		d.bits |= uint64(c) << d.nbits
		d.nbits += 8
	}
}

// overrun says whether bits past the input's end have been consumed.
func (d *Reader) overrun() bool { return int(d.nbits) < 8*d.pad }

// getBits consumes n ≤ 32 bits; refill must have been called for them.
func (d *Reader) getBits(n uint) uint32 {
	v := uint32(d.bits & (1<<n - 1))
	d.bits >>= n
	d.nbits -= n
	return v
}

// fail is err, unless the input ran out first: what was read then is the
// zeros past its end, and the error a symptom.
func (d *Reader) fail(err error) error {
	if d.overrun() {
		return errTruncated
	}
	return err
}

// alignedByte takes the next byte, from the bit buffer while it holds
// some; the bit buffer must be at a byte boundary.
func (d *Reader) alignedByte() (byte, bool) {
	if d.nbits >= 8 {
		if int(d.nbits/8) <= d.pad {
			return 0, false
		}
		c := byte(d.bits)
		d.bits >>= 8
		d.nbits -= 8
		return c, true
	}
	// The bits above nbits are input now taken directly.
	d.bits = 0
	return d.inputByte()
}

func (d *Reader) blockHeader() error {
	d.refill()
	h := d.getBits(3)
	if d.overrun() {
		return errTruncated
	}
	d.final = h&1 != 0
	switch h >> 1 {
	case 0:
		d.bits >>= d.nbits % 8
		d.nbits -= d.nbits % 8
		var b [4]byte
		for i := range b {
			c, ok := d.alignedByte()
			if !ok {
				return errTruncated
			}
			b[i] = c
		}
		n, nn := binary.LittleEndian.Uint16(b[:]), binary.LittleEndian.Uint16(b[2:])
		if n != ^nn {
			return corrupt("stored block length %d, its complement says %d", n, ^nn)
		}
		d.stored = int(n)
		d.state = stateStored
	case 1:
		f := fixed()
		d.lit, d.dist = &f.lit, &f.dist
		d.state = stateHuffman
	case 2:
		if err := d.dynamicHeader(); err != nil {
			return err
		}
		d.lit, d.dist = &d.dyn.lit, &d.dyn.dist
		d.state = stateHuffman
	default:
		return corrupt("block type 3")
	}
	return nil
}

func (d *Reader) copyStored() error {
	for d.stored > 0 && d.w < len(d.buf) {
		if d.nbits > 0 {
			c, ok := d.alignedByte()
			if !ok {
				return errTruncated
			}
			d.buf[d.w] = c
			d.w++
			d.stored--
			continue
		}
		d.bits = 0
		for len(d.in) == 0 {
			if len(d.chunks) == 0 {
				return errTruncated
			}
			d.in, d.chunks = d.chunks[0], d.chunks[1:]
		}
		n := copy(d.buf[d.w:min(len(d.buf), d.w+d.stored)], d.in)
		d.in = d.in[n:]
		d.w += n
		d.stored -= n
	}
	if d.stored == 0 {
		d.state = stateBlockHeader
	}
	return nil
}

// dynamicHeader reads a dynamic block's code definitions (RFC 1951,
// section 3.2.7) and builds their tables.
func (d *Reader) dynamicHeader() error {
	d.refill()
	nlit := int(d.getBits(5)) + 257
	ndist := int(d.getBits(5)) + 1
	nclen := int(d.getBits(4)) + 4
	if nlit > numLit {
		return d.fail(corrupt("%d literal/length codes", nlit))
	}
	if ndist > numDist {
		return d.fail(corrupt("%d distance codes", ndist))
	}
	var clens [19]uint8
	for i := range nclen {
		if d.nbits < 3 {
			d.refill()
		}
		clens[clenOrder[i]] = uint8(d.getBits(3))
	}
	if err := build(d.dyn.clen[:], clens[:], clenSyms[:], clenBits); err != nil {
		return d.fail(corrupt("code lengths' code: %v", err))
	}
	lengths := d.dyn.lengths[:nlit+ndist]
	for i := 0; i < len(lengths); {
		d.refill()
		e := d.dyn.clen[d.bits&(clenTableSize-1)]
		if e&entryInvalid != 0 {
			return d.fail(corrupt("invalid code length code"))
		}
		d.getBits(uint(e & 15))
		sym := e >> 16
		if sym < 16 {
			lengths[i] = uint8(sym)
			i++
			continue
		}
		var rep int
		var v uint8
		switch sym {
		case 16:
			if i == 0 {
				return d.fail(corrupt("repeat of the previous code length, first"))
			}
			v = lengths[i-1]
			rep = 3 + int(d.getBits(2))
		case 17:
			rep = 3 + int(d.getBits(3))
		default:
			rep = 11 + int(d.getBits(7))
		}
		if i+rep > len(lengths) {
			return d.fail(corrupt("code lengths repeated past the last"))
		}
		for range rep {
			lengths[i] = v
			i++
		}
	}
	if d.overrun() {
		return errTruncated
	}
	if err := build(d.dyn.lit[:], lengths[:nlit], litSyms[:], litBits); err != nil {
		return corrupt("literal/length code: %v", err)
	}
	if err := build(d.dyn.dist[:], lengths[nlit:], distSyms[:], distBits); err != nil {
		return corrupt("distance code: %v", err)
	}
	return nil
}
