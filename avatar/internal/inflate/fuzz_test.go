package inflate

import (
	"bytes"
	"io"
	"testing"
)

// FuzzInflate checks that on any input the reader agrees with
// compress/zlib: the same data when it succeeds, and failure when it
// fails. The input is cut into chunks of a fuzzed size.
func FuzzInflate(f *testing.F) {
	for _, in := range inputs()[:5] {
		for _, level := range []int{-2, 0, 1, 6, 9} {
			data := in.data
			if len(data) > 4000 {
				data = data[:4000]
			}
			f.Add(compress(f, data, level), uint8(0))
		}
	}
	f.Add([]byte{0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01}, uint8(3))
	f.Fuzz(func(t *testing.T, z []byte, chunk uint8) {
		const limit = 1 << 20 // what either may inflate
		want, werr := io.ReadAll(io.LimitReader(zlibReader(z), limit))
		size := len(z)
		if chunk != 0 {
			size = int(chunk)
		}
		var got []byte
		r, err := NewReader(split(z, max(size, 1)))
		if err == nil {
			got, err = io.ReadAll(io.LimitReader(r, limit))
		}
		n := min(len(got), len(want))
		if !bytes.Equal(got[:n], want[:n]) {
			t.Fatalf("data differs at %d", firstDiff(got, want))
		}
		if len(want) == limit || len(got) == limit {
			return // cut short by the limit: the ends are not compared
		}
		switch {
		case werr == nil && err != nil:
			t.Fatalf("compress/zlib reads %d bytes, ours fails: %v", len(want), err)
		case werr != nil && err == nil:
			t.Fatalf("compress/zlib fails (%v), ours reads %d bytes", werr, len(got))
		case werr == nil && len(got) != len(want):
			t.Fatalf("%d bytes, compress/zlib %d", len(got), len(want))
		}
	})
}
