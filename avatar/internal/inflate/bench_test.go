package inflate

import (
	"compress/zlib"
	"encoding/binary"
	"io"
	"slices"
	"testing"

	"mmsprofile/avatar/internal/samplepic"
)

// idat returns a PNG's IDAT chunks' data, as pngscale hands it over.
func idat(tb testing.TB, png []byte) [][]byte {
	tb.Helper()
	var chunks [][]byte
	for b := png[8:]; len(b) >= 12; {
		n := int(binary.BigEndian.Uint32(b))
		if string(b[4:8]) == "IDAT" {
			chunks = append(chunks, b[8:8+n])
		}
		b = b[12+n:]
	}
	if len(chunks) == 0 {
		tb.Fatal("no IDAT")
	}
	return chunks
}

// chunksReader presents chunks as one stream to compress/zlib, as
// pngscale's idatReader did (an io.ByteReader, so flate does not wrap it
// in a bufio.Reader).
type chunksReader struct{ chunks [][]byte }

func (r *chunksReader) Read(p []byte) (int, error) {
	for len(r.chunks) > 0 && len(r.chunks[0]) == 0 {
		r.chunks = r.chunks[1:]
	}
	if len(r.chunks) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.chunks[0])
	r.chunks[0] = r.chunks[0][n:]
	return n, nil
}

func (r *chunksReader) ReadByte() (byte, error) {
	var b [1]byte
	if _, err := r.Read(b[:]); err != nil {
		return 0, err
	}
	return b[0], nil
}

// BenchmarkInflate inflates the image data of pngscale's benchmark
// pictures with this package and with compress/zlib, in rows of the
// 1600-pixel RGBA picture's size. MB/s count the inflated bytes.
func BenchmarkInflate(b *testing.B) {
	pics, err := samplepic.BenchPNGs()
	if err != nil {
		b.Fatal(err)
	}
	for _, p := range pics {
		chunks := idat(b, p.Data)
		want, err := inflateAll(chunks)
		if err != nil {
			b.Fatal(err)
		}
		row := make([]byte, 6401)
		b.Run(p.Name+"/inflate", func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := NewReader(chunks)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, onlyReader{r}, row); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.Name+"/compress-zlib", func(b *testing.B) {
			b.SetBytes(int64(len(want)))
			b.ReportAllocs()
			for b.Loop() {
				r, err := zlib.NewReader(&chunksReader{slices.Clone(chunks)})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := io.CopyBuffer(io.Discard, onlyReader{r}, row); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// onlyReader hides a WriterTo, so that both are read in rows.
type onlyReader struct{ io.Reader }
