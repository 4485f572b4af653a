package pep

import (
	"math/rand/v2"
	"testing"
)

// An avatar data payload carries 30-100 KB of base64: building it must
// stay a small cost next to the IQ round trip that sends it.
func BenchmarkAvatarData(b *testing.B) {
	data := make([]byte, 75<<10) // ~100 KB once base64
	r := rand.New(rand.NewPCG(1, 2))
	for i := range data {
		data[i] = byte(r.Uint32())
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		AvatarData("0123456789abcdef0123456789abcdef01234567", data)
	}
}
