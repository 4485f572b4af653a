package inflate

import (
	"errors"
	"math/bits"
	"sync"
)

// A table entry tells all a symbol needs in one uint32, so that decoding
// one costs one lookup (two for the rare codes longer than the primary
// table): the code's length (low 4 bits), the number of extra bits to
// read after it (next 4), what kind of symbol it is (flags), and in the
// top 16 bits the literal byte, the length or distance base, or, for a
// pointer to a subtable, where the subtable starts (the extra-bits field
// then holds the subtable's index width).
const (
	entryLit     = 1 << 8
	entryEnd     = 1 << 9
	entrySub     = 1 << 10
	entryInvalid = 1 << 11
)

const (
	maxCodeLen = 15

	// Primary table widths. 11 bits decode nearly every literal/length
	// code of real data in one lookup; 8 suffice for distances.
	litBits  = 11
	distBits = 8

	// The largest tables any valid code set needs, primary plus
	// subtables (the bounds zlib's enough program computes for these
	// widths).
	litTableSize  = 2342
	distTableSize = 402
	// The code lengths' code has at most 7-bit codes: no subtables.
	clenBits      = 7
	clenTableSize = 1 << clenBits

	numLit  = 286 // literal/length symbols a dynamic block may define
	numDist = 30
)

var (
	lengthBase  = [29]uint16{3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258}
	lengthExtra = [29]uint8{0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0}
	distBase    = [30]uint16{1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577}
	distExtra   = [30]uint8{0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13}

	// clenOrder is the order in which a dynamic block lists the code
	// lengths' code lengths (RFC 1951, section 3.2.7).
	clenOrder = [19]uint8{16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15}
)

// Symbol entries, without the code length, which build adds. The fixed
// code defines 288 literal/length and 32 distance symbols; the last two
// of each are invalid in a stream.
var litSyms, distSyms, clenSyms = func() (lit [288]uint32, dist [32]uint32, clen [19]uint32) {
	for i := range 256 {
		lit[i] = entryLit | uint32(i)<<16
	}
	lit[256] = entryEnd
	for i := range lengthBase {
		lit[257+i] = uint32(lengthBase[i])<<16 | uint32(lengthExtra[i])<<4
	}
	lit[286], lit[287] = entryInvalid, entryInvalid
	for i := range distBase {
		dist[i] = uint32(distBase[i])<<16 | uint32(distExtra[i])<<4
	}
	dist[30], dist[31] = entryInvalid, entryInvalid
	for i := range clen {
		clen[i] = uint32(i) << 16
	}
	return
}()

var (
	errOversubscribed = errors.New("over-subscribed code set")
	errIncomplete     = errors.New("incomplete code set")
)

// build fills t with the decoding table of the canonical code the lengths
// describe (RFC 1951, section 3.2.2), syms giving each symbol's entry.
//
// It accepts what compress/flate and zlib accept: a complete code, a code
// of one symbol of length 1, and no code at all (a block may have no
// distances); the entries that no code reaches are invalid.
func build(t []uint32, lengths []uint8, syms []uint32, rootBits uint) error {
	var count [maxCodeLen + 1]int
	for _, n := range lengths {
		count[n]++
	}
	count[0] = 0
	maxLen := maxCodeLen
	for maxLen > 0 && count[maxLen] == 0 {
		maxLen--
	}
	left := 1
	for n := 1; n <= maxCodeLen; n++ {
		left = left<<1 - count[n]
		if left < 0 {
			return errOversubscribed
		}
	}
	root := 1 << rootBits
	if left > 0 {
		if maxLen > 1 || count[1] > 1 {
			return errIncomplete
		}
		for i := range t[:root] {
			t[i] = entryInvalid
		}
		if maxLen == 0 {
			return nil
		}
	}

	// The first code of each length, then each symbol's code in turn.
	var next [maxCodeLen + 1]int
	code := 0
	for n := 1; n <= maxCodeLen; n++ {
		code = (code + count[n-1]) << 1
		next[n] = code
	}
	// Codes are handed out in canonical order, by length then symbol:
	// the long codes sharing a primary prefix come together, so each
	// subtable is filled before the next begins.
	var sorted [288]uint16
	var start [maxCodeLen + 2]int
	for n := 1; n <= maxCodeLen; n++ {
		start[n+1] = start[n] + count[n]
	}
	for sym, n := range lengths {
		if n != 0 {
			sorted[start[n]] = uint16(sym)
			start[n]++
		}
	}
	used := root
	subPrefix, subStart, subBits := -1, 0, uint(0)
	remaining := count
	for _, sym := range sorted[:start[maxCodeLen+1]] {
		n := uint(lengths[sym])
		if n == 0 {
			continue
		}
		c := next[n]
		next[n]++
		remaining[n]--
		rev := int(bits.Reverse16(uint16(c)) >> (16 - n))
		e := syms[sym] | uint32(n)
		if n <= rootBits {
			for i := rev; i < root; i += 1 << n {
				t[i] = e
			}
			continue
		}
		if prefix := rev & (root - 1); prefix != subPrefix {
			// The subtable must hold every code under this prefix:
			// grow it until the codes still to come fill it.
			subBits = n - rootBits
			for fill := 1<<subBits - (remaining[n] + 1); fill > 0 && rootBits+subBits < uint(maxLen); {
				subBits++
				fill = fill<<1 - remaining[rootBits+subBits]
			}
			subPrefix, subStart = prefix, used
			used += 1 << subBits
			if used > len(t) {
				return errOversubscribed // cannot happen for a checked code
			}
			t[prefix] = entrySub | uint32(subStart)<<16 | uint32(subBits)<<4 | uint32(rootBits)
		}
		for i := rev >> rootBits; i < 1<<subBits; i += 1 << (n - rootBits) {
			t[subStart+i] = e
		}
	}
	return nil
}

// fixedTables are the fixed code's tables (RFC 1951, section 3.2.6),
// built once and only read after.
type fixedTables struct {
	lit  [litTableSize]uint32
	dist [distTableSize]uint32
}

var fixed = sync.OnceValue(func() *fixedTables {
	var lengths [288 + 32]uint8
	for i := range 288 {
		switch {
		case i < 144:
			lengths[i] = 8
		case i < 256:
			lengths[i] = 9
		case i < 280:
			lengths[i] = 7
		default:
			lengths[i] = 8
		}
	}
	for i := range 32 {
		lengths[288+i] = 5
	}
	f := new(fixedTables)
	if build(f.lit[:], lengths[:288], litSyms[:], litBits) != nil ||
		build(f.dist[:], lengths[288:], distSyms[:], distBits) != nil {
		panic("inflate: the fixed code does not build")
	}
	return f
})
