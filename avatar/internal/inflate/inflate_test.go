package inflate

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"strings"
	"testing"
)

// inputs are data of the shapes that exercise the decoder's paths.
func inputs() []struct {
	name string
	data []byte
} {
	rng := rand.New(rand.NewPCG(1, 2))
	random := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(rng.Uint32())
		}
		return b
	}
	text := []byte(strings.Repeat("It was the best of times, it was the worst of times, it was the age of wisdom. ", 3000))
	for i := range text {
		if rng.IntN(50) == 0 {
			text[i] = byte('a' + rng.IntN(26))
		}
	}
	// repeats copies short random strings at varied distances, some
	// overlapping their source.
	repeats := func(n, maxDist int) []byte {
		b := random(64)
		for len(b) < n {
			d := 1 + rng.IntN(min(len(b), maxDist))
			l := 3 + rng.IntN(300)
			for range l {
				b = append(b, b[len(b)-d])
			}
			b = append(b, random(rng.IntN(4))...)
		}
		return b
	}
	return []struct {
		name string
		data []byte
	}{
		{"empty", nil},
		{"one byte", []byte{42}},
		{"random small", random(1000)},
		{"random large", random(400 << 10)},
		{"text", text},
		{"zeros", make([]byte, 600<<10)},
		{"distance 1 and 2", bytes.Repeat([]byte("aaaaaaaaaaaaabababababababababababcab"), 20000)},
		{"repeats near", repeats(300<<10, 16)},
		{"repeats far", repeats(500<<10, 1<<15)},
	}
}

func compress(t testing.TB, data []byte, level int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := zlib.NewWriterLevel(&b, level)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

var levels = []int{flate.HuffmanOnly, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9}

// inflateAll reads the chunks' stream to its end.
func inflateAll(chunks [][]byte) ([]byte, error) {
	r, err := NewReader(chunks)
	if err != nil {
		return nil, err
	}
	return io.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	for _, in := range inputs() {
		for _, level := range levels {
			z := compress(t, in.data, level)
			for _, size := range []int{len(z), 1 << 13, 1000, 7} {
				t.Run(fmt.Sprintf("%s/level%d/chunks%d", in.name, level, size), func(t *testing.T) {
					r, err := NewReader(split(z, size))
					if err != nil {
						t.Fatal(err)
					}
					got, err := io.ReadAll(r)
					if err != nil {
						t.Fatal(err)
					}
					if !bytes.Equal(got, in.data) {
						t.Fatalf("got %d bytes, want %d, first difference at %d", len(got), len(in.data), firstDiff(got, in.data))
					}
					if n := r.Trailing(); n != 0 {
						t.Errorf("Trailing() = %d, want 0", n)
					}
				})
			}
		}
	}
}

// TestSplitEverywhere cuts a small stream at every position, and into
// bytes with empty chunks between.
func TestSplitEverywhere(t *testing.T) {
	data := []byte(strings.Repeat("abcabcabd, a stream with some repeats and literals. ", 12))
	for _, level := range levels {
		z := compress(t, data, level)
		for i := range len(z) + 1 {
			got, err := inflateAll([][]byte{z[:i], z[i:]})
			if err != nil || !bytes.Equal(got, data) {
				t.Fatalf("level %d, cut at %d: %v", level, i, err)
			}
		}
		var bytewise [][]byte
		for i := range z {
			bytewise = append(bytewise, nil, z[i:i+1], []byte{})
		}
		got, err := inflateAll(bytewise)
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("level %d, byte chunks: %v", level, err)
		}
	}
}

// TestSmallReads reads in odd sizes, so that reads end inside matches
// and across the window's slides.
func TestSmallReads(t *testing.T) {
	for _, in := range inputs() {
		z := compress(t, in.data, 6)
		r, err := NewReader([][]byte{z})
		if err != nil {
			t.Fatal(err)
		}
		var got []byte
		p := make([]byte, 4099)
		for i := 1; ; i++ {
			n, err := r.Read(p[:i%len(p)+1])
			got = append(got, p[:n]...)
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%s: %v", in.name, err)
			}
		}
		if !bytes.Equal(got, in.data) {
			t.Errorf("%s: wrong data", in.name)
		}
	}
}

func TestTrailing(t *testing.T) {
	z := append(compress(t, []byte("hello, hello, hello"), 6), "garbage"...)
	r, err := NewReader(split(z, 3))
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(r); err != nil || string(got) != "hello, hello, hello" {
		t.Fatalf("%q, %v", got, err)
	}
	if n := r.Trailing(); n != len("garbage") {
		t.Errorf("Trailing() = %d, want %d", n, len("garbage"))
	}
	// Reading on keeps saying the stream ended.
	if n, err := r.Read(make([]byte, 10)); n != 0 || err != io.EOF {
		t.Errorf("read after the end: %d, %v", n, err)
	}
}

func TestTruncated(t *testing.T) {
	data := []byte(strings.Repeat("truncate me, truncate me not: ", 30))
	for _, level := range levels {
		z := compress(t, data, level)
		for i := range len(z) {
			_, err := inflateAll(split(z[:i], 5))
			if !errors.Is(err, io.ErrUnexpectedEOF) {
				t.Errorf("level %d, cut at %d of %d: %v, want io.ErrUnexpectedEOF", level, i, len(z), err)
			}
		}
	}
}

func TestHeaderAndChecksum(t *testing.T) {
	good := compress(t, []byte("some data, some data"), 6)
	with := func(i int, b byte) []byte {
		z := bytes.Clone(good)
		z[i] = b
		return z
	}
	badSum := bytes.Clone(good)
	badSum[len(badSum)-1] ^= 1
	// A header asking for a preset dictionary, with its check bits
	// fixed.
	dict := []byte{0x78, 0x20}
	dict[1] += byte(31 - (uint16(dict[0])<<8|uint16(dict[1]))%31)
	for _, c := range []struct {
		name string
		z    []byte
	}{
		{"method 7", with(0, 0x77)},
		{"window 64K", with(0, 0x88)},
		{"bad check bits", with(1, good[1]+1)},
		{"preset dictionary", append(dict, good[2:]...)},
		{"bad Adler-32", badSum},
	} {
		_, err := inflateAll([][]byte{c.z})
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: %v, want ErrCorrupt", c.name, err)
		}
		if _, zerr := io.ReadAll(zlibReader(c.z)); zerr == nil {
			t.Errorf("%s: compress/zlib reads it", c.name)
		}
	}
}

// zlibReader reads with compress/zlib, failing at once on a bad header.
func zlibReader(z []byte) io.Reader {
	r, err := zlib.NewReader(bytes.NewReader(z))
	if err != nil {
		return errReader{err}
	}
	return r
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// bitWriter writes DEFLATE's LSB-first bit fields, to hand-make
// malformed blocks.
type bitWriter struct {
	b     []byte
	acc   uint32
	nbits uint
}

func (w *bitWriter) put(v uint32, n uint) *bitWriter {
	w.acc |= v << w.nbits
	w.nbits += n
	for w.nbits >= 8 {
		w.b = append(w.b, byte(w.acc))
		w.acc >>= 8
		w.nbits -= 8
	}
	return w
}

// putCode writes a Huffman code, which goes MSB first.
func (w *bitWriter) putCode(code uint32, n uint) *bitWriter {
	for i := int(n) - 1; i >= 0; i-- {
		w.put(code>>uint(i)&1, 1)
	}
	return w
}

func (w *bitWriter) bytes() []byte {
	if w.nbits > 0 {
		return append(w.b, byte(w.acc))
	}
	return w.b
}

// zwrap gives raw DEFLATE data a zlib header, and padding in place of
// a trailer so that a stream failing early is not cut short.
func zwrap(raw []byte) []byte {
	return append(append([]byte{0x78, 0x9c}, raw...), make([]byte, 16)...)
}

// fixedLit writes literal/length symbol s in the fixed code.
func fixedLit(w *bitWriter, s uint32) *bitWriter {
	switch {
	case s < 144:
		return w.putCode(0x30+s, 8)
	case s < 256:
		return w.putCode(0x190+s-144, 9)
	case s < 280:
		return w.putCode(s-256, 7)
	}
	return w.putCode(0xc0+s-280, 8)
}

// dynamicHeader writes a dynamic block's header whose code length code
// gives every one of the 19 symbols a 5-bit code save those given 0
// (an over-subscribed set unless most are 0).
func dynamicHeader(w *bitWriter, hlit, hdist uint32, clen [19]uint32) *bitWriter {
	w.put(1, 1).put(2, 2).put(hlit, 5).put(hdist, 5).put(15, 4)
	for _, s := range clenOrder {
		w.put(clen[s], 3)
	}
	return w
}

func TestMalformed(t *testing.T) {
	nw := func() *bitWriter { return new(bitWriter) }
	// A code length code of symbols 1 and 18 (1 bit each: 1 is "0",
	// 18 is "1"), for hand-writing lengths.
	var c1and18 [19]uint32
	c1and18[1], c1and18[18] = 1, 1
	var c16first [19]uint32
	c16first[16], c16first[8] = 1, 1
	for _, c := range []struct {
		name string
		raw  []byte
	}{
		{"block type 3", nw().put(1, 1).put(3, 2).bytes()},
		{"stored length complement", nw().put(1, 1).put(0, 2).put(0, 5).put(5, 16).put(5, 16).bytes()},
		{"fixed: symbol 286", fixedLit(nw().put(1, 1).put(1, 2), 286).bytes()},
		{"fixed: symbol 287", fixedLit(nw().put(1, 1).put(1, 2), 287).bytes()},
		{"fixed: distance 30", fixedLit(nw().put(1, 1).put(1, 2), 'a').apply(func(w *bitWriter) { fixedLit(w, 257).putCode(30, 5) }).bytes()},
		{"fixed: distance 31", fixedLit(nw().put(1, 1).put(1, 2), 'a').apply(func(w *bitWriter) { fixedLit(w, 257).putCode(31, 5) }).bytes()},
		{"fixed: distance past the start", fixedLit(nw().put(1, 1).put(1, 2), 'a').apply(func(w *bitWriter) { fixedLit(w, 257).putCode(1, 5) }).bytes()},
		{"fixed: distance past the start, no data", fixedLit(nw().put(1, 1).put(1, 2), 257).putCode(0, 5).bytes()},
		{"dynamic: 287 literal/length codes", dynamicHeader(nw(), 30, 0, c1and18).bytes()},
		{"dynamic: 31 distance codes", dynamicHeader(nw(), 0, 30, c1and18).bytes()},
		{"dynamic: repeat with no previous length", dynamicHeader(nw(), 0, 0, c16first).putCode(1, 1).put(0, 2).bytes()},
		{"dynamic: over-subscribed code length code", func() []byte {
			var all [19]uint32
			for i := range all {
				all[i] = 2
			}
			return dynamicHeader(nw(), 0, 0, all).bytes()
		}()},
		{"dynamic: incomplete code length code", func() []byte {
			var two [19]uint32
			two[1], two[18] = 2, 2
			return dynamicHeader(nw(), 0, 0, two).bytes()
		}()},
		{"dynamic: lengths repeated past the end", func() []byte {
			w := dynamicHeader(nw(), 0, 0, c1and18)
			// 18 repeats 138 zeros, three times: 414 > 258.
			for range 3 {
				w.putCode(1, 1).put(127, 7)
			}
			return w.bytes()
		}()},
		{"dynamic: over-subscribed literal/length code", func() []byte {
			// 258 lengths of 1.
			w := dynamicHeader(nw(), 0, 0, c1and18)
			for range 258 {
				w.putCode(0, 1)
			}
			return w.bytes()
		}()},
		{"dynamic: incomplete literal/length code", func() []byte {
			// Symbols 0, 1 and 2 of length 2 and no others: a quarter
			// of the code space unused.
			var c2and18 [19]uint32
			c2and18[2], c2and18[18] = 1, 1
			w := dynamicHeader(nw(), 0, 0, c2and18)
			w.putCode(0, 1).putCode(0, 1).putCode(0, 1)
			w.putCode(1, 1).put(138-11, 7).putCode(1, 1).put(116-11, 7)
			return w.putCode(0, 1).bytes()
		}()},
	} {
		t.Run(c.name, func(t *testing.T) {
			z := zwrap(c.raw)
			_, err := inflateAll([][]byte{z})
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%v, want ErrCorrupt", err)
			}
			if _, zerr := io.ReadAll(zlibReader(z)); zerr == nil {
				t.Errorf("compress/zlib reads it")
			}
		})
	}

	// A code without an end of block is valid, and runs to the input's
	// end: one literal of length 1, then 257 zero lengths.
	w := dynamicHeader(nw(), 0, 0, c1and18)
	w.putCode(0, 1).putCode(1, 1).put(138-11, 7).putCode(1, 1).put(119-11, 7)
	z := zwrap(w.bytes())
	if _, err := inflateAll([][]byte{z}); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("no end of block: %v, want io.ErrUnexpectedEOF", err)
	}
	if _, err := io.ReadAll(zlibReader(z)); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("no end of block: compress/zlib says %v", err)
	}
}

func (w *bitWriter) apply(f func(*bitWriter)) *bitWriter {
	f(w)
	return w
}

func split(b []byte, size int) [][]byte {
	var chunks [][]byte
	for len(b) > size {
		chunks = append(chunks, b[:size])
		b = b[size:]
	}
	return append(chunks, b)
}

func firstDiff(a, b []byte) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}
