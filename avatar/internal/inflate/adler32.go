package inflate

// adlerMod is Adler-32's modulus; adlerBlock is the most bytes that can
// be summed before s2 may overflow 32 bits (zlib's NMAX).
const (
	adlerMod   = 65521
	adlerBlock = 5552
)

// adler32 adds p to the Adler-32 sums s1 and s2 (RFC 1950, section 8.2).
func adler32(s1, s2 uint32, p []byte) (uint32, uint32) {
	for len(p) > 0 {
		q := p[:min(len(p), adlerBlock)]
		p = p[len(q):]
		for len(q) >= 4 {
			s1 += uint32(q[0])
			s2 += s1
			s1 += uint32(q[1])
			s2 += s1
			s1 += uint32(q[2])
			s2 += s1
			s1 += uint32(q[3])
			s2 += s1
			q = q[4:]
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
