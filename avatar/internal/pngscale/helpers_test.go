package pngscale_test

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"image"
	"image/color"
	"image/png"
	"math"
	"math/rand/v2"
	"testing"
)

// spec describes a PNG for pngFile to write. image/png's encoder writes
// only 8- and 16-bit pictures without interlacing, tRNS or filter choice;
// this one writes any colour type and bit depth, Adam7, and every filter
// type in turn, so that the decoder under test meets them all.
type spec struct {
	w, h      int
	depth     int
	ctype     int
	interlace bool
	// npal is the palette's length (colour type 3).
	npal int
	// trns is the tRNS chunk's data, if any.
	trns []byte
	// seed picks the samples.
	seed uint64
	// idatSize splits the image data into IDAT chunks this long (0: one).
	idatSize int
	// maxIndex bounds the palette indexes written (0: npal-1).
	maxIndex int
}

func (s spec) String() string {
	il := ""
	if s.interlace {
		il = "-adam7"
	}
	tr := ""
	if s.trns != nil {
		tr = "-trns"
	}
	return fmt.Sprintf("%dx%d-ct%d-%dbit%s%s", s.w, s.h, s.ctype, s.depth, il, tr)
}

func channels(ctype int) int {
	switch ctype {
	case 2:
		return 3
	case 4:
		return 2
	case 6:
		return 4
	}
	return 1
}

// chunk appends a PNG chunk with its CRC.
func chunk(b []byte, typ string, data []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, uint32(len(data)))
	start := len(b)
	b = append(b, typ...)
	b = append(b, data...)
	return binary.BigEndian.AppendUint32(b, crc32.ChecksumIEEE(b[start:]))
}

// passes are Adam7's, as x0, y0, dx, dy.
var testPasses = [][4]int{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}

// rawRows returns the unfiltered, unpacked image data of s: per pass,
// per row, the filter-less bytes.
func (s spec) samples() [][]uint16 {
	rng := rand.New(rand.NewPCG(s.seed, 7))
	nc := channels(s.ctype)
	top := 1<<s.depth - 1
	if s.ctype == 3 {
		top = s.npal - 1
		if s.maxIndex != 0 {
			top = s.maxIndex
		}
	}
	var trnsPix []uint16
	if s.trns != nil && s.ctype != 3 {
		for i := 0; i+1 < len(s.trns); i += 2 {
			trnsPix = append(trnsPix, binary.BigEndian.Uint16(s.trns[i:]))
		}
	}
	pix := make([][]uint16, s.h)
	for y := range s.h {
		pix[y] = make([]uint16, s.w*nc)
		for x := range s.w {
			// A quarter of the pixels take the tRNS colour, to be
			// transparent.
			if trnsPix != nil && rng.IntN(4) == 0 {
				copy(pix[y][x*nc:], trnsPix)
				continue
			}
			for c := range nc {
				v := rng.IntN(top + 1)
				// Some runs of extremes, so alpha 0 and 255 occur.
				if c == nc-1 && (s.ctype == 4 || s.ctype == 6) && rng.IntN(3) == 0 {
					v = top * rng.IntN(2)
				}
				pix[y][x*nc+c] = uint16(v)
			}
		}
	}
	return pix
}

// pack writes pixels [x0, x0+dx, ...) of one row as PNG bytes.
func (s spec) pack(row []uint16, x0, dx int) []byte {
	nc := channels(s.ctype)
	var out []byte
	var acc, nbits int
	for x := x0; x < s.w; x += dx {
		for c := range nc {
			v := int(row[x*nc+c])
			switch s.depth {
			case 16:
				out = append(out, byte(v>>8), byte(v))
			case 8:
				out = append(out, byte(v))
			default:
				acc = acc<<s.depth | v
				nbits += s.depth
				if nbits == 8 {
					out = append(out, byte(acc))
					acc, nbits = 0, 0
				}
			}
		}
	}
	if nbits > 0 {
		out = append(out, byte(acc<<(8-nbits)))
	}
	return out
}

// filter applies filter type ft to cur given prev (PNG 1.2, section 6).
func filter(ft int, cur, prev []byte, bpp int) []byte {
	out := make([]byte, 1+len(cur))
	out[0] = byte(ft)
	for i := range cur {
		var a, b, c int
		if i >= bpp {
			a = int(cur[i-bpp])
			c = int(prev[i-bpp])
		}
		b = int(prev[i])
		var pred int
		switch ft {
		case 1:
			pred = a
		case 2:
			pred = b
		case 3:
			pred = (a + b) / 2
		case 4:
			p := a + b - c
			pa, pb, pc := abs(p-a), abs(p-b), abs(p-c)
			switch {
			case pa <= pb && pa <= pc:
				pred = a
			case pb <= pc:
				pred = b
			default:
				pred = c
			}
		}
		out[1+i] = cur[i] - byte(pred)
	}
	return out
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// imageData returns s's filtered rows, before compression.
func (s spec) imageData() []byte {
	pix := s.samples()
	passes := [][4]int{{0, 0, 1, 1}}
	if s.interlace {
		passes = testPasses
	}
	bpp := max(1, channels(s.ctype)*s.depth/8)
	var raw []byte
	n := 0
	for _, p := range passes {
		if p[0] >= s.w || p[1] >= s.h {
			continue
		}
		var prev []byte
		for y := p[1]; y < s.h; y += p[3] {
			cur := s.pack(pix[y], p[0], p[2])
			if prev == nil {
				prev = make([]byte, len(cur))
			}
			raw = append(raw, filter(n%5, cur, prev, bpp)...)
			prev = cur
			n++
		}
	}
	return raw
}

func (s spec) ihdr() []byte {
	h := binary.BigEndian.AppendUint32(nil, uint32(s.w))
	h = binary.BigEndian.AppendUint32(h, uint32(s.h))
	il := byte(0)
	if s.interlace {
		il = 1
	}
	return append(h, byte(s.depth), byte(s.ctype), 0, 0, il)
}

func (s spec) plte() []byte {
	var p []byte
	for i := range s.npal {
		p = append(p, byte(i*37), byte(255-i*11), byte(i*i))
	}
	return p
}

func compress(b []byte) []byte {
	var z bytes.Buffer
	w := zlib.NewWriter(&z)
	w.Write(b)
	w.Close()
	return z.Bytes()
}

// file writes the PNG s describes, with extra chunks before the image
// data.
func (s spec) file(extra ...[]byte) []byte {
	return s.fileWith(compress(s.imageData()), extra...)
}

// fileWith writes s with the given zlib stream as its image data.
func (s spec) fileWith(z []byte, extra ...[]byte) []byte {
	b := []byte("\x89PNG\r\n\x1a\n")
	b = chunk(b, "IHDR", s.ihdr())
	for _, e := range extra {
		b = append(b, e...)
	}
	if s.ctype == 3 && s.npal > 0 {
		b = chunk(b, "PLTE", s.plte())
	}
	if s.trns != nil {
		b = chunk(b, "tRNS", s.trns)
	}
	size := s.idatSize
	if size <= 0 {
		size = len(z)
	}
	for len(z) > size {
		b = chunk(b, "IDAT", z[:size])
		z = z[size:]
	}
	b = chunk(b, "IDAT", z)
	return chunk(b, "IEND", nil)
}

// reference decodes data with image/png and returns its pixels as NRGBA
// numbers of 16 bits, with 8-bit samples as they are (wide false) or as
// image/png's 16-bit ones.
func reference(t *testing.T, data []byte) (pix [][4]uint32, w, h int, wide bool) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("image/png: %v", err)
	}
	b := img.Bounds()
	w, h = b.Dx(), b.Dy()
	pix = make([][4]uint32, w*h)
	for y := range h {
		for x := range w {
			var p [4]uint32
			switch m := img.(type) {
			case *image.NRGBA:
				c := m.NRGBAAt(x, y)
				p = [4]uint32{uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A)}
			case *image.NRGBA64:
				c := m.NRGBA64At(x, y)
				p, wide = [4]uint32{uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A)}, true
			case *image.Paletted:
				switch c := m.Palette[m.ColorIndexAt(x, y)].(type) {
				case color.RGBA:
					p = [4]uint32{uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A)}
				case color.NRGBA:
					p = [4]uint32{uint32(c.R), uint32(c.G), uint32(c.B), uint32(c.A)}
				default:
					t.Fatalf("palette entry %T", c)
				}
			case *image.Gray, *image.RGBA:
				r, g, bl, a := m.At(x, y).RGBA()
				p = [4]uint32{r >> 8, g >> 8, bl >> 8, a >> 8}
			case *image.Gray16, *image.RGBA64:
				r, g, bl, a := m.At(x, y).RGBA()
				p, wide = [4]uint32{r, g, bl, a}, true
			default:
				t.Fatalf("image/png made a %T", img)
			}
			pix[y*w+x] = p
		}
	}
	return pix, w, h, wide
}

// boxAverage is what Decode at scale k should make of reference pixels:
// alpha-weighted averages of k x k blocks (or plain ones for a picture
// without transparency), as 8-bit NRGBA.
func boxAverage(pix [][4]uint32, w, h, k int, wide, alpha bool) *image.NRGBA {
	ow, oh := (w+k-1)/k, (h+k-1)/k
	out := image.NewNRGBA(image.Rect(0, 0, ow, oh))
	for oy := range oh {
		for ox := range ow {
			var sum [4]float64
			n := 0.0
			for y := oy * k; y < min(h, (oy+1)*k); y++ {
				for x := ox * k; x < min(w, (ox+1)*k); x++ {
					p := pix[y*w+x]
					wt := 1.0
					if alpha {
						wt = float64(p[3])
					}
					for i := range 3 {
						sum[i] += wt * float64(p[i])
					}
					sum[3] += float64(p[3])
					n++
				}
			}
			var v [4]float64
			weight := n
			if alpha {
				weight = sum[3]
			}
			if weight > 0 {
				for i := range 3 {
					v[i] = sum[i] / weight
				}
				v[3] = sum[3] / n
			}
			o := out.Pix[out.PixOffset(ox, oy):]
			for i := range 4 {
				if wide {
					o[i] = uint8(math.Round(v[i]) / 256)
				} else {
					o[i] = uint8(math.Round(v[i]))
				}
			}
		}
	}
	return out
}

// exact converts reference pixels to what Decode at scale 1 must return.
func exact(pix [][4]uint32, w, h int, wide bool) *image.NRGBA {
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	for i, p := range pix {
		for c := range 4 {
			if wide {
				out.Pix[4*i+c] = uint8(p[c] >> 8)
			} else {
				out.Pix[4*i+c] = uint8(p[c])
			}
		}
	}
	return out
}

// diff returns the largest difference between two pictures' samples and
// where it is, or -1 if their sizes differ.
func diff(a, b *image.NRGBA) (int, image.Point) {
	if a.Rect != b.Rect {
		return -1, image.Point{}
	}
	worst, at := 0, image.Point{}
	for y := range a.Rect.Dy() {
		for x := range a.Rect.Dx() {
			pa, pb := a.Pix[a.PixOffset(x, y):][:4], b.Pix[b.PixOffset(x, y):][:4]
			for i := range 4 {
				if d := abs(int(pa[i]) - int(pb[i])); d > worst {
					worst, at = d, image.Pt(x, y)
				}
			}
		}
	}
	return worst, at
}
