package inflate

import "encoding/binary"

// adlerMod is Adler-32's modulus; adlerBlock is the most bytes that can
// be summed before s2 may overflow 32 bits (zlib's NMAX).
const (
	adlerMod   = 65521
	adlerBlock = 5552
)

// adlerUpdate adds p to the Adler-32 sums s1 and s2 (RFC 1950, section 8.2).
func adlerUpdate(s1, s2 uint32, p []byte) (uint32, uint32) {
	for len(p) > 0 {
		q := p[:min(len(p), adlerBlock)]
		p = p[len(q):]
		// Sixteen bytes at a time, s2 gains 16*s1 plus the bytes
		// weighted by how many of the sixteen sums each is part of.
		for len(q) >= 16 {
			sa, wa := sums8(binary.LittleEndian.Uint64(q))
			sb, wb := sums8(binary.LittleEndian.Uint64(q[8:]))
			s2 += 16*s1 + 8*sa + wa + wb
			s1 += sa + sb
			q = q[16:]
		}
		for _, c := range q {
			s1 += uint32(c)
			s2 += s1
		}
		s1 %= adlerMod
		s2 %= adlerMod
	}
	return s1, s2
}

// sums8 returns the sum of the 8 bytes of x, first byte lowest, and
// their sum weighted 8 for the first down to 1 for the last. With the
// even and odd bytes in 16-bit lanes, one multiply sums the lanes,
// weighted or not, into the top lane; no lane's partial sum carries into
// the next.
func sums8(x uint64) (sum, weighted uint32) {
	even, odd := x&0x00ff00ff00ff00ff, x>>8&0x00ff00ff00ff00ff
	sum = uint32((even + odd) * 0x0001000100010001 >> 48)
	weighted = uint32((even*0x0008000600040002 + odd*0x0007000500030001) >> 48)
	return sum, weighted
}
