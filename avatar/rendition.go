package avatar

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/hex"
	"fmt"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
)

const (
	// DefaultRenditionQuality is the JPEG quality of renditions.
	DefaultRenditionQuality = 85
	// MaxRenditionSide bounds Standard.Renditions: a copy larger than
	// this costs more to make, keep and send than a client showing a
	// contact's picture needs.
	MaxRenditionSide = 2048
)

// Rendition is a larger copy of an avatar, for clients that show more
// than a thumbnail (a profile page, a call screen). XEP-0084 lets the
// metadata point to such copies by URL after the inline PNG; a JPEG keeps
// a photo of 512 pixels to tens of kilobytes where a PNG takes hundreds.
// Like the avatar it is made from pixels only: the encoder writes no EXIF,
// ICC, XMP or comment.
type Rendition struct {
	ID            string // lowercase SHA-1 hex of Data
	Type          string // media type of Data, "image/jpeg"
	Width, Height int    // the side asked for, both ways
	Data          []byte
}

// checkRenditions reports a Renditions or RenditionQuality that Make would
// not honour. s has its defaults.
func (s Standard) checkRenditions() error {
	if s.RenditionQuality > 100 {
		return fmt.Errorf("avatar: rendition quality %d: want 1 to 100", s.RenditionQuality)
	}
	for i, side := range s.Renditions {
		switch {
		case side <= s.Size || side > MaxRenditionSide:
			return fmt.Errorf("avatar: rendition %d: want over the size %d and at most %d", side, s.Size, MaxRenditionSide)
		case slices.Contains(s.Renditions[:i], side):
			return fmt.Errorf("avatar: rendition %d is listed twice", side)
		}
	}
	return nil
}

// renditionSides returns the sides of s.Renditions that the picture of
// header h can fill without being enlarged, smallest first, or nil. A
// centre crop keeps the shorter side of the picture, a fit its longer one
// (the rest is background). Sides Check would refuse are skipped.
func (s Standard) renditionSides(h header) []int {
	if len(s.Renditions) == 0 {
		return nil
	}
	limit := min(h.width, h.height)
	if s.Crop == CropFit {
		limit = max(h.width, h.height)
	}
	var sides []int
	for _, side := range s.Renditions {
		if side > s.Size && side <= min(limit, MaxRenditionSide) && !slices.Contains(sides, side) {
			sides = append(sides, side)
		}
	}
	slices.Sort(sides)
	return sides
}

// scaleWithRenditions decodes the picture once, at the largest of sides
// (ascending), through the same backend step as an avatar of that size,
// and resamples that result to the avatar's size and to each rendition,
// which it encodes. It holds one Limiter slot throughout: the large
// picture is the memory the cap is for, and only the encoded renditions
// outlive it. A picture refused later (blank, the hook) wastes the encodes,
// which cost far less than the decode.
func (s Standard) scaleWithRenditions(ctx context.Context, be backend, f format, data []byte, hdr header, sides []int) (scaled, []Rendition, error) {
	if err := s.Limiter.acquire(ctx); err != nil {
		return scaled{}, nil, fmt.Errorf("avatar: waiting to decode: %w", err)
	}
	defer s.Limiter.release()
	big := s
	big.Size = sides[len(sides)-1]
	large, err := big.scaleHeld(ctx, be, f, data, hdr)
	if err != nil {
		return scaled{}, nil, err
	}
	rs, err := s.renditions(ctx, large, sides)
	if err != nil {
		return scaled{}, nil, err
	}
	return scaled{img: resizeTo(large.img, s.Size, s.Crop), opaque: large.opaque}, rs, nil
}

// resizeTo resamples the output of a backend's scale to side: a square
// for CropCentre, the longer side for CropFit.
func resizeTo(img *image.NRGBA, side int, crop Crop) *image.NRGBA {
	b := img.Bounds()
	w, h := side, side
	if crop == CropFit {
		if b.Dx() > b.Dy() {
			h = max(1, (b.Dy()*side+b.Dx()/2)/b.Dx())
		} else {
			w = max(1, (b.Dx()*side+b.Dy()/2)/b.Dy())
		}
	}
	if b.Dx() == w && b.Dy() == h {
		return img
	}
	return lanczosResize(img, opaque(img), w, h)
}

// renditions encodes large at each of sides (ascending, none over large's
// longer side) as a JPEG square. Transparency is flattened on the
// Background, or on white where that is transparent too: JPEG has no alpha.
func (s Standard) renditions(ctx context.Context, large scaled, sides []int) ([]Rendition, error) {
	bg := flatColour(s.Background)
	out := make([]Rendition, 0, len(sides))
	for _, side := range sides {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("avatar: %w", err)
		}
		var buf bytes.Buffer
		sq := flatten(resizeTo(large.img, side, s.Crop), side, bg, large.opaque)
		if err := jpeg.Encode(&buf, sq, &jpeg.Options{Quality: s.RenditionQuality}); err != nil {
			return nil, fmt.Errorf("avatar: encode %dx%d jpeg: %w", side, side, err)
		}
		sum := sha1.Sum(buf.Bytes())
		out = append(out, Rendition{
			ID:     hex.EncodeToString(sum[:]),
			Type:   "image/jpeg",
			Width:  side,
			Height: side,
			Data:   buf.Bytes(),
		})
	}
	return out, nil
}

// flatColour is bg as seen over white: bg itself when opaque, white when
// transparent.
func flatColour(bg color.NRGBA) color.NRGBA {
	a := uint32(bg.A)
	over := func(c uint8) uint8 { return uint8((uint32(c)*a + 255*(255-a) + 127) / 255) }
	return color.NRGBA{R: over(bg.R), G: over(bg.G), B: over(bg.B), A: 0xff}
}

// flatten centres img on an opaque side x side square of bg, blending by
// img's alpha; opaque says img's alpha is to be taken as full (resampling
// leaves 254s at the edges of an opaque picture). The result is RGBA, the
// layout Go's JPEG encoder converts fastest.
func flatten(img *image.NRGBA, side int, bg color.NRGBA, opaque bool) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	for i := 0; i < len(dst.Pix); i += 4 {
		dst.Pix[i], dst.Pix[i+1], dst.Pix[i+2], dst.Pix[i+3] = bg.R, bg.G, bg.B, 0xff
	}
	b := img.Bounds()
	ox, oy := (side-b.Dx())/2, (side-b.Dy())/2
	blend := func(c, bg uint8, a uint32) uint8 { return uint8((uint32(c)*a + uint32(bg)*(255-a) + 127) / 255) }
	for y := range b.Dy() {
		src := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:4*b.Dx()]
		d := dst.Pix[dst.PixOffset(ox, oy+y):]
		for x := 0; x < len(src); x += 4 {
			a := uint32(src[x+3])
			if opaque {
				a = 0xff
			}
			d[x] = blend(src[x], bg.R, a)
			d[x+1] = blend(src[x+1], bg.G, a)
			d[x+2] = blend(src[x+2], bg.B, a)
		}
	}
	return dst
}
