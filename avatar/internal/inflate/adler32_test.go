package inflate

import (
	"hash/adler32"
	"math/rand/v2"
	"testing"
)

func TestAdler32(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	p := make([]byte, 3*adlerBlock+77)
	for i := range p {
		p[i] = byte(rng.Uint32())
	}
	ones := make([]byte, 3*adlerBlock+5)
	for i := range ones {
		ones[i] = 0xff // the largest sums, for overflow
	}
	for _, b := range [][]byte{nil, p[:1], p[:7], p[:8], p[:adlerBlock+1], p, ones} {
		// In two pieces, as fill hands it over.
		s1, s2 := adlerUpdate(1, 0, b[:len(b)/3])
		s1, s2 = adlerUpdate(s1, s2, b[len(b)/3:])
		if got, want := s2<<16|s1, adler32.Checksum(b); got != want {
			t.Errorf("%d bytes: %08x, want %08x", len(b), got, want)
		}
	}
}

func BenchmarkAdler32(b *testing.B) {
	p := make([]byte, outSize)
	for i := range p {
		p[i] = byte(i * 7)
	}
	b.Run("ours", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adlerUpdate(1, 0, p)
		}
	})
	b.Run("hash-adler32", func(b *testing.B) {
		b.SetBytes(int64(len(p)))
		for b.Loop() {
			adler32.Checksum(p)
		}
	})
}
