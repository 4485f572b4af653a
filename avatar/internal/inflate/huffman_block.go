package inflate

import "encoding/binary"

// huffman decodes a Huffman block's symbols until the block or the
// output space ends. The fast loop does the bulk; a symbol near the end
// of the input chunk or of the output space takes the careful path.
func (d *Reader) huffman() error {
	if d.copyLen > 0 {
		d.copyLen = d.copyMatch(d.copyLen, d.copyDist)
		if d.copyLen > 0 {
			return nil
		}
	}
	for d.w < len(d.buf) {
		if len(d.in) >= 8 && d.w <= len(d.buf)-fastMargin {
			done, err := d.fast()
			if err != nil || done {
				return err
			}
			continue
		}
		done, err := d.slowSymbol()
		if err != nil || done {
			return err
		}
	}
	return nil
}

// lookup decodes the next literal/length or distance entry, without
// consuming it.
func lookup(t []uint32, bits uint64, rootBits uint) uint32 {
	e := t[bits&(1<<rootBits-1)]
	if e&entrySub != 0 {
		e = t[e>>16+uint32(bits>>rootBits)&(1<<(e>>4&15)-1)]
	}
	return e
}

// fast decodes while the chunk holds 8 bytes, so that the bit buffer is
// refilled with one load, and the output has room for a whole match
// with the 8-byte copies' overshoot. Between refills the buffer holds at
// least 56 bits: a length with its extra bits and a distance with its
// extra bits (48 at most) need no refill between them.
func (d *Reader) fast() (blockDone bool, err error) {
	bits, nbits, in := d.bits, d.nbits, d.in
	buf, w := d.buf, d.w
	lit, dist := d.lit, d.dist
	limit := len(buf) - fastMargin
	for len(in) >= 8 && w <= limit {
		bits |= binary.LittleEndian.Uint64(in) << nbits
		in = in[(63-nbits)>>3:]
		nbits |= 56

		e := lit[bits&(1<<litBits-1)]
		if e&entrySub != 0 {
			e = lit[e>>16+uint32(bits>>litBits)&(1<<(e>>4&15)-1)]
		}
		n := uint(e & 15)
		bits >>= n
		nbits -= n
		if e&entryLit != 0 {
			buf[w] = byte(e >> 16)
			w++
			// Literals come in runs: two more fit in the bits left
			// (15 each at most) before the next refill.
			e = lit[bits&(1<<litBits-1)]
			if e&entryLit == 0 {
				continue
			}
			n = uint(e & 15)
			bits >>= n
			nbits -= n
			buf[w] = byte(e >> 16)
			w++
			e = lit[bits&(1<<litBits-1)]
			if e&entryLit == 0 {
				continue
			}
			n = uint(e & 15)
			bits >>= n
			nbits -= n
			buf[w] = byte(e >> 16)
			w++
			continue
		}
		if e&(entryEnd|entryInvalid) != 0 {
			if e&entryInvalid != 0 {
				err = corrupt("invalid literal/length symbol")
				break
			}
			d.state = stateBlockHeader
			blockDone = true
			break
		}
		x := uint(e >> 4 & 15)
		length := int(e>>16) + int(bits&(1<<x-1))
		bits >>= x
		nbits -= x

		e = dist[bits&(1<<distBits-1)]
		if e&entrySub != 0 {
			e = dist[e>>16+uint32(bits>>distBits)&(1<<(e>>4&15)-1)]
		}
		if e&entryInvalid != 0 {
			err = corrupt("invalid distance symbol")
			break
		}
		n = uint(e & 15)
		bits >>= n
		nbits -= n
		x = uint(e >> 4 & 15)
		dst := int(e>>16) + int(bits&(1<<x-1))
		bits >>= x
		nbits -= x
		if dst > w {
			err = corrupt("distance %d past the data's start", dst)
			break
		}

		src := w - dst
		if dst >= 8 {
			// The 8-byte steps may write up to 7 bytes past the match,
			// into space the margin keeps and the next symbols overwrite.
			for i := 0; i < length; i += 8 {
				binary.LittleEndian.PutUint64(buf[w+i:], binary.LittleEndian.Uint64(buf[src+i:]))
			}
		} else {
			repeat(buf[src:w+length], dst)
		}
		w += length
	}
	// The locals let the compiler keep the hot state in registers.
	d.bits, d.nbits, d.in, d.w = bits, nbits, in, w
	return blockDone, err
}

// repeat fills b past its first dist bytes with their repetition,
// doubling the copied part each step.
func repeat(b []byte, dist int) {
	for n := dist; n < len(b); n += copy(b[n:], b[:n]) {
	}
}

// copyMatch copies what fits of a match and returns what does not.
func (d *Reader) copyMatch(length, dist int) int {
	end := min(d.w+length, len(d.buf))
	repeat(d.buf[d.w-dist:end], dist)
	length -= end - d.w
	d.w = end
	return length
}

// slowSymbol decodes one symbol, refilling byte by byte across chunks
// and with zeros past the input's end, and stopping a match at the
// output's end.
func (d *Reader) slowSymbol() (blockDone bool, err error) {
	d.refill()
	e := lookup(d.lit[:], d.bits, litBits)
	if e&entryInvalid != 0 {
		return false, d.fail(corrupt("invalid literal/length symbol"))
	}
	d.getBits(uint(e & 15))
	if d.overrun() {
		return false, errTruncated
	}
	switch {
	case e&entryLit != 0:
		d.buf[d.w] = byte(e >> 16)
		d.w++
		return false, nil
	case e&entryEnd != 0:
		d.state = stateBlockHeader
		return true, nil
	}
	length := int(e>>16) + int(d.getBits(uint(e>>4&15)))
	e = lookup(d.dist[:], d.bits, distBits)
	if e&entryInvalid != 0 {
		return false, d.fail(corrupt("invalid distance symbol"))
	}
	d.getBits(uint(e & 15))
	dist := int(e>>16) + int(d.getBits(uint(e>>4&15)))
	if d.overrun() {
		return false, errTruncated
	}
	if dist > d.w {
		return false, corrupt("distance %d past the data's start", dist)
	}
	d.copyLen, d.copyDist = d.copyMatch(length, dist), dist
	return false, nil
}
