package pngscale

import (
	"errors"
	"image"
	"io"

	"mmsprofile/avatar/internal/inflate"
)

// pass is one Adam7 pass (PNG 1.2, section 8.2): the pixels at
// (x0 + i*dx, y0 + j*dy). A picture that is not interlaced is one pass
// of every pixel.
type pass struct{ x0, y0, dx, dy int }

var (
	whole = []pass{{0, 0, 1, 1}}
	adam7 = []pass{{0, 0, 8, 8}, {4, 0, 8, 8}, {0, 4, 4, 8}, {2, 0, 4, 4}, {0, 2, 2, 4}, {1, 0, 2, 2}, {0, 1, 1, 2}}
)

// Filter types (PNG 1.2, section 6).
const (
	ftNone = iota
	ftSub
	ftUp
	ftAverage
	ftPaeth
)

// decodeImage inflates the image data and hands each unfiltered row to a
// scaler. Only two rows of the largest pass are held at any time.
func (d *decoder) decodeImage() (*image.NRGBA, error) {
	if len(d.idat) == 0 {
		return nil, truncated("no image data")
	}
	zr, err := inflate.NewReader(d.idat)
	if err != nil {
		return nil, inflateError("image data", err)
	}
	passes := whole
	if d.interlaced {
		passes = adam7
	}
	bitsPerPixel := d.channels() * d.depth
	// The filters work on whole bytes, at least one (section 6.2).
	filterBytes := max(1, bitsPerPixel/8)
	maxRow := (int64(bitsPerPixel)*int64(d.width) + 7) / 8
	cr, pr := make([]byte, 1+maxRow), make([]byte, 1+maxRow)
	s := newScaler(d)
	for _, p := range passes {
		pw := (d.width - p.x0 + p.dx - 1) / p.dx
		ph := (d.height - p.y0 + p.dy - 1) / p.dy
		if pw <= 0 || ph <= 0 {
			// An empty pass has no bytes at all, not even filter bytes.
			continue
		}
		n := 1 + (bitsPerPixel*pw+7)/8
		cur, prev := cr[:n], pr[:n]
		clear(prev)
		for j := range ph {
			if _, err := io.ReadFull(zr, cur); err != nil {
				return nil, inflateError("image data", err)
			}
			if err := unfilter(cur[0], cur[1:], prev[1:], filterBytes); err != nil {
				return nil, err
			}
			s.row(cur[1:], pw, p, p.y0+j*p.dy)
			cur, prev = prev, cur
		}
	}
	// Reading on checks the zlib stream's checksum, and that it ends
	// where the rows do, as image/png wants.
	var one [1]byte
	n, err := io.ReadFull(zr, one[:])
	switch {
	case n != 0:
		return nil, corrupt("too much pixel data")
	case !errors.Is(err, io.EOF):
		return nil, inflateError("image data end", err)
	}
	// Bytes after the zlib stream's end (zr.Trailing) are ignored:
	// image/png takes those its read-ahead buffer swallowed (up to 4 KB),
	// and phones' encoders are not known to write any.
	return s.finish(), nil
}

// inflateError turns what the inflate reader says into our sentinels.
func inflateError(what string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return truncated(what + ": not enough pixel data")
	}
	return corrupt("%s: %v", what, err)
}

// unfilter undoes a row's filter in place, given the previous row
// (zeros above the first).
func unfilter(ft byte, cdat, pdat []byte, bpp int) error {
	switch ft {
	case ftNone:
	case ftSub:
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += cdat[i-bpp]
		}
	case ftUp:
		pdat = pdat[:len(cdat)]
		for i, p := range pdat {
			cdat[i] += p
		}
	case ftAverage:
		for i := 0; i < bpp && i < len(cdat); i++ {
			cdat[i] += pdat[i] / 2
		}
		for i := bpp; i < len(cdat); i++ {
			cdat[i] += uint8((int(cdat[i-bpp]) + int(pdat[i])) / 2)
		}
	case ftPaeth:
		paeth(cdat, pdat, bpp)
	default:
		return corrupt("bad filter type %d", ft)
	}
	return nil
}

// paeth undoes the Paeth filter one byte lane at a time, so that the left
// and upper-left bytes stay in registers.
func paeth(cdat, pdat []byte, bpp int) {
	for i := range bpp {
		var a, c int
		for j := i; j < len(cdat); j += bpp {
			b := int(pdat[j])
			pa := b - c
			pb := a - c
			pc := abs(pa + pb)
			pa, pb = abs(pa), abs(pb)
			switch {
			case pa <= pb && pa <= pc:
			case pb <= pc:
				a = b
			default:
				a = c
			}
			a = (a + int(cdat[j])) & 0xff
			cdat[j] = uint8(a)
			c = b
		}
	}
}

func abs(x int) int {
	m := x >> 63
	return (x ^ m) - m
}

func (d *decoder) channels() int {
	switch d.ctype {
	case ctRGB:
		return 3
	case ctGreyAlpha:
		return 2
	case ctRGBA:
		return 4
	}
	return 1
}
