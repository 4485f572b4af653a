package avatar

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"math"
	"slices"
	"sync"
)

// minSide is the smallest avatar worth sending; below it, a picture that
// does not fit the budget is refused instead.
const minSide = 16

// encodeWithin encodes img as PNG within maxBytes and returns the bytes and
// the side actually used. Steps, best-looking first: full colour, fast;
// the same squeezed harder; 256 colours (exact when the picture has no more, as most
// drawings and GIFs); then all that at a smaller side, estimated from how
// far over the budget the last try was.
func encodeWithin(ctx context.Context, img *image.NRGBA, maxBytes int) ([]byte, int, error) {
	cur := img
	for {
		side := cur.Bounds().Dx()
		// zlib's fastest level takes 2 ms on a 128x128 photo avatar where
		// the default takes 8-12 ms (level 9: 11-29 ms), for 13-18% more
		// bytes; that is a third of the whole vips path, so the smaller
		// encodings are only paid for when the budget needs them.
		out, err := encodePNG(cur, png.BestSpeed)
		if err != nil {
			return nil, 0, err
		}
		if len(out) <= maxBytes {
			return out, side, nil
		}
		for _, level := range []png.CompressionLevel{png.DefaultCompression, png.BestCompression} {
			if len(out) > maxBytes+maxBytes/4 {
				break // no level saves that much; go on to fewer colours
			}
			if out, err = encodePNG(cur, level); err != nil {
				return nil, 0, err
			}
			if len(out) <= maxBytes {
				return out, side, nil
			}
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("avatar: %w", err)
		}
		out, err = encodePNG(quantize(cur, 256), png.BestCompression)
		if err != nil {
			return nil, 0, err
		}
		if len(out) <= maxBytes {
			return out, side, nil
		}
		if side <= minSide {
			return nil, 0, fmt.Errorf("avatar: even %dx%d takes %d bytes, more than the %d allowed: %w", side, side, len(out), maxBytes, ErrTooLarge)
		}
		if err := ctx.Err(); err != nil {
			return nil, 0, fmt.Errorf("avatar: %w", err)
		}
		// Bytes grow with the pixel count, so the side scales with the
		// square root; 0.95 leaves room for the estimate being optimistic,
		// and each step shrinks at least 10% so the loop ends quickly.
		next := int(float64(side) * math.Sqrt(float64(maxBytes)/float64(len(out))) * 0.95)
		next = max(minSide, min(next, side*9/10))
		// Resample from the full-size avatar, not the last try, so that
		// the blur of several steps does not add up.
		cur = lanczosResize(img, opaque(img), next, next)
	}
}

// pngBuffers lends PNG encoders their zlib writer and row buffers from
// one encode to the next. A new compress/flate writer allocates and
// zeroes its tables, about 800 KB whatever the level: more memory
// traffic than the 128x128 avatar it writes. It holds reusable memory
// only, never anything a result depends on.
var pngBuffers pngBufferPool

type pngBufferPool struct{ pool sync.Pool }

func (p *pngBufferPool) Get() *png.EncoderBuffer {
	b, _ := p.pool.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngBufferPool) Put(b *png.EncoderBuffer) { p.pool.Put(b) }

func encodePNG(img image.Image, level png.CompressionLevel) ([]byte, error) {
	var buf bytes.Buffer
	enc := png.Encoder{CompressionLevel: level, BufferPool: &pngBuffers}
	if err := enc.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("avatar: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// quantize maps img to at most n colours (alpha included) by median cut:
// the set of pixels is split at the median of its widest channel until
// there are n sets, and each set becomes its mean colour. Every pixel keeps
// the colour of its own set, so no nearest-colour search is needed.
func quantize(img *image.NRGBA, n int) *image.Paletted {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	px := make([][4]uint8, 0, w*h)
	for y := range h {
		row := img.Pix[y*img.Stride:]
		for x := range w {
			px = append(px, [4]uint8(row[4*x:4*x+4]))
		}
	}
	idx := make([]int32, len(px))
	for i := range idx {
		idx[i] = int32(i)
	}

	type box struct {
		idx   []int32
		ch    int // widest channel
		width int // its range; 0 means one colour, nothing to split
	}
	measure := func(ix []int32) box {
		lo := [4]uint8{255, 255, 255, 255}
		var hi [4]uint8
		for _, i := range ix {
			for c := range 4 {
				lo[c] = min(lo[c], px[i][c])
				hi[c] = max(hi[c], px[i][c])
			}
		}
		bx := box{idx: ix}
		for c := range 4 {
			if d := int(hi[c]) - int(lo[c]); d > bx.width {
				bx.ch, bx.width = c, d
			}
		}
		return bx
	}

	boxes := []box{measure(idx)}
	for len(boxes) < n {
		// Split the box with the widest range, weighted by how many pixels
		// it holds, so big smooth areas (skin, sky) get their share.
		best, score := -1, 0
		for i, bx := range boxes {
			if s := bx.width * len(bx.idx); bx.width > 0 && len(bx.idx) > 1 && s > score {
				best, score = i, s
			}
		}
		if best < 0 {
			break
		}
		bx := boxes[best]
		ch := bx.ch
		slices.SortFunc(bx.idx, func(a, b int32) int {
			return cmp.Or(cmp.Compare(px[a][ch], px[b][ch]), cmp.Compare(a, b))
		})
		mid := len(bx.idx) / 2
		// Do not cut between equal values: both halves would share a colour.
		v := px[bx.idx[mid]][ch]
		for mid > 0 && px[bx.idx[mid-1]][ch] == v {
			mid--
		}
		if mid == 0 {
			mid = len(bx.idx) / 2
			for mid < len(bx.idx) && px[bx.idx[mid]][ch] == v {
				mid++
			}
		}
		boxes[best] = measure(bx.idx[:mid])
		boxes = append(boxes, measure(bx.idx[mid:]))
	}

	pal := make(color.Palette, len(boxes))
	dst := image.NewPaletted(image.Rect(0, 0, w, h), pal)
	for k, bx := range boxes {
		var sum [4]uint64
		for _, i := range bx.idx {
			for c := range 4 {
				sum[c] += uint64(px[i][c])
			}
		}
		m := uint64(len(bx.idx))
		pal[k] = color.NRGBA{
			R: uint8((sum[0] + m/2) / m),
			G: uint8((sum[1] + m/2) / m),
			B: uint8((sum[2] + m/2) / m),
			A: uint8((sum[3] + m/2) / m),
		}
		for _, i := range bx.idx {
			dst.Pix[int(i)/w*dst.Stride+int(i)%w] = uint8(k)
		}
	}
	return dst
}
