package jpegscale_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// plane is one channel of a picture as numbers, for comparing pictures
// channel by channel whatever their image type.
type plane struct {
	w, h int
	v    []float64
}

func (p plane) at(x, y int) float64 { return p.v[y*p.w+x] }

// planes splits img into its channels: Y, Cb, Cr at their own
// resolutions for YCbCr, the stored channels otherwise.
func planes(t *testing.T, img image.Image) []plane {
	t.Helper()
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	grab := func(w, h int, at func(x, y int) uint8) plane {
		p := plane{w: w, h: h, v: make([]float64, w*h)}
		for y := range h {
			for x := range w {
				p.v[y*w+x] = float64(at(x, y))
			}
		}
		return p
	}
	interleaved := func(pix []uint8, stride, n int) []plane {
		var ps []plane
		for c := range n {
			ps = append(ps, grab(w, h, func(x, y int) uint8 { return pix[y*stride+4*x+c] }))
		}
		return ps
	}
	switch m := img.(type) {
	case *image.Gray:
		return []plane{grab(w, h, func(x, y int) uint8 { return m.Pix[y*m.Stride+x] })}
	case *image.YCbCr:
		cw, ch := w, h
		switch m.SubsampleRatio {
		case image.YCbCrSubsampleRatio422:
			cw = (w + 1) / 2
		case image.YCbCrSubsampleRatio420:
			cw, ch = (w+1)/2, (h+1)/2
		case image.YCbCrSubsampleRatio440:
			ch = (h + 1) / 2
		case image.YCbCrSubsampleRatio411:
			cw = (w + 3) / 4
		case image.YCbCrSubsampleRatio410:
			cw, ch = (w+3)/4, (h+1)/2
		}
		return []plane{
			grab(w, h, func(x, y int) uint8 { return m.Y[y*m.YStride+x] }),
			grab(cw, ch, func(x, y int) uint8 { return m.Cb[y*m.CStride+x] }),
			grab(cw, ch, func(x, y int) uint8 { return m.Cr[y*m.CStride+x] }),
		}
	case *image.CMYK:
		return interleaved(m.Pix, m.Stride, 4)
	case *image.RGBA:
		return interleaved(m.Pix, m.Stride, 3)
	}
	t.Fatalf("unexpected image type %T", img)
	return nil
}

// shrink box-averages p by scale. The last cells of a row or column may
// reach past the picture; they average its last row or column repeated,
// as encoders fill a partial block and as our reduced transform, which
// averages whole blocks, sees it. clipped tells the cells where some
// sample is 0 or 255: there the full-size decode has clamped values that
// the reduced transform averages unclamped, so the two may rightly differ
// more.
func shrink(p plane, scale int) (out plane, clipped []bool) {
	out = plane{w: (p.w + scale - 1) / scale, h: (p.h + scale - 1) / scale}
	out.v = make([]float64, out.w*out.h)
	clipped = make([]bool, out.w*out.h)
	for Y := range out.h {
		for X := range out.w {
			sum := 0.0
			for y := Y * scale; y < (Y+1)*scale; y++ {
				for x := X * scale; x < (X+1)*scale; x++ {
					v := p.at(min(x, p.w-1), min(y, p.h-1))
					sum += v
					clipped[Y*out.w+X] = clipped[Y*out.w+X] || v == 0 || v == 255
				}
			}
			out.v[Y*out.w+X] = sum / float64(scale*scale)
		}
	}
	return out, clipped
}

// diff is how far a reduced decode is from the box-averaged full decode,
// over all channels.
type diff struct {
	// max is the largest difference in a whole cell whose samples are all
	// inside 1..254, mean the mean difference over all cells.
	max, mean float64
	// edgeMax is the largest difference in the last row or column of
	// cells: when partial, our samples average the encoder's padding,
	// which is the edge repeated before quantisation, not exactly after.
	edgeMax float64
	// clipMax is the largest difference in a cell with clipped samples.
	clipMax float64
}

func (d diff) String() string {
	return fmt.Sprintf("max %.2f mean %.3f edge max %.2f clipped max %.2f", d.max, d.mean, d.edgeMax, d.clipMax)
}

// compare measures got (a reduced decode) against ref (a full-size decode
// of the same picture) reduced by scale, channel by channel.
func compare(t *testing.T, ref, got image.Image, scale int) []diff {
	t.Helper()
	rb, gb := ref.Bounds(), got.Bounds()
	if want := image.Rect(0, 0, (rb.Dx()+scale-1)/scale, (rb.Dy()+scale-1)/scale); gb != want {
		t.Fatalf("bounds %v, want %v", gb, want)
	}
	rp, gp := planes(t, ref), planes(t, got)
	if len(rp) != len(gp) {
		t.Fatalf("%d channels, want %d (%T vs %T)", len(gp), len(rp), got, ref)
	}
	ds := make([]diff, len(rp))
	for i := range rp {
		r, clipped := shrink(rp[i], scale)
		g := gp[i]
		if r.w != g.w || r.h != g.h {
			t.Fatalf("channel %d: %dx%d, want %dx%d", i, g.w, g.h, r.w, r.h)
		}
		d := &ds[i]
		for y := range r.h {
			for x := range r.w {
				e := math.Abs(r.at(x, y) - g.at(x, y))
				d.mean += e
				switch {
				case clipped[y*r.w+x]:
					d.clipMax = max(d.clipMax, e)
				case x == r.w-1 || y == r.h-1:
					d.edgeMax = max(d.edgeMax, e)
				default:
					d.max = max(d.max, e)
				}
			}
		}
		d.mean /= float64(r.w * r.h)
	}
	return ds
}

// merge sums up per-channel diffs: maxima of maxima, mean of means.
func merge(ds []diff) diff {
	var m diff
	for _, d := range ds {
		m.max, m.edgeMax, m.clipMax = max(m.max, d.max), max(m.edgeMax, d.edgeMax), max(m.clipMax, d.clipMax)
		m.mean += d.mean / float64(len(ds))
	}
	return m
}

func readFile(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

func decodeRef(tb testing.TB, data []byte) image.Image {
	tb.Helper()
	img, err := jpeg.Decode(bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("image/jpeg: %v", err)
	}
	return img
}

// seg is one marker segment of a JPEG file: data[off:end] holds the
// marker, its length and payload, and for SOS the entropy-coded data
// that follows.
type seg struct {
	marker   byte
	off, end int
}

// segments walks a well-formed JPEG.
func segments(tb testing.TB, data []byte) []seg {
	tb.Helper()
	var out []seg
	for i := 2; i+4 <= len(data); {
		if data[i] != 0xff {
			tb.Fatalf("no marker at %d", i)
		}
		m := data[i+1]
		if m == 0xd9 {
			out = append(out, seg{m, i, i + 2})
			break
		}
		end := i + 2 + (int(data[i+2])<<8 | int(data[i+3]))
		if m == 0xda {
			for end+1 < len(data) && !(data[end] == 0xff && data[end+1] != 0 && (data[end+1] < 0xd0 || data[end+1] > 0xd7)) {
				end++
			}
		}
		out = append(out, seg{m, i, end})
		i = end
	}
	return out
}

// find returns the nth (from 0) segment with the marker.
func find(tb testing.TB, data []byte, marker byte, nth int) seg {
	tb.Helper()
	for _, s := range segments(tb, data) {
		if s.marker == marker {
			if nth == 0 {
				return s
			}
			nth--
		}
	}
	tb.Fatalf("no marker %#x number %d", marker, nth)
	return seg{}
}

// splice returns a copy of data with data[from:to] replaced by with.
func splice(data []byte, from, to int, with []byte) []byte {
	out := append([]byte{}, data[:from]...)
	out = append(out, with...)
	return append(out, data[to:]...)
}

// segment builds a marker segment around a payload.
func segment(marker byte, payload []byte) []byte {
	n := len(payload) + 2
	return append([]byte{0xff, marker, byte(n >> 8), byte(n)}, payload...)
}
