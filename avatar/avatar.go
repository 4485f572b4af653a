package avatar

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
)

// Defaults used for every zero (or negative) field of a Standard, so that a
// zero Standard is the operator standard DESIGN.md assumes.
const (
	DefaultSize          = 128
	DefaultMaxBytes      = 64 << 10
	DefaultMaxPixels     = 25_000_000
	DefaultMaxSide       = 10_000
	DefaultMaxInputBytes = 10 << 20
)

// The sentinel texts end up in the reply to the phone user, so they are
// plain words rather than codes.
var (
	// ErrEmpty reports an input of zero bytes.
	ErrEmpty = errors.New("the picture is empty")
	// ErrTooLarge reports an input over a limit: its bytes, its pixel count,
	// a side, or an encoding that cannot be brought within MaxBytes.
	ErrTooLarge = errors.New("the picture is too large")
	// ErrUnsupported reports a format that is recognised but not decoded
	// (HEIC, TIFF, animated WebP, …) or bytes that are no known picture.
	ErrUnsupported = errors.New("this kind of picture is not supported, please send a JPEG or PNG")
	// ErrCorrupt reports a picture of a supported format that cannot be decoded.
	ErrCorrupt = errors.New("the picture is damaged")
)

// Standard is the operator's avatar standard. The zero value means the
// defaults above.
type Standard struct {
	Size          int   // square side in pixels, default 128
	MaxBytes      int   // encoded size budget, default 65536
	MaxPixels     int64 // decode refused above this, default 25_000_000
	MaxSide       int   // each side, default 10000
	MaxInputBytes int64 // default 10 MiB
}

// Image is a picture brought to the standard.
type Image struct {
	ID            string // lowercase SHA-1 hex of Data: the XEP-0084 item id
	Type          string // media type of Data, "image/png"
	Width, Height int    // Size x Size, smaller only when MaxBytes forced it
	Data          []byte
}

// withDefaults fills zero fields, so callers may set only what they change.
func (s Standard) withDefaults() Standard {
	if s.Size <= 0 {
		s.Size = DefaultSize
	}
	if s.MaxBytes <= 0 {
		s.MaxBytes = DefaultMaxBytes
	}
	if s.MaxPixels <= 0 {
		s.MaxPixels = DefaultMaxPixels
	}
	if s.MaxSide <= 0 {
		s.MaxSide = DefaultMaxSide
	}
	if s.MaxInputBytes <= 0 {
		s.MaxInputBytes = DefaultMaxInputBytes
	}
	return s
}

// Make decodes data (JPEG, PNG, GIF, WebP or BMP, whatever it is labelled),
// applies its EXIF orientation, centre-crops it to a square, resizes it to
// s.Size and encodes it as PNG within s.MaxBytes. The result is built from
// pixels only, so no metadata of the input survives.
//
// Errors match ErrEmpty, ErrTooLarge, ErrUnsupported or ErrCorrupt with
// errors.Is, or are ctx's error; their text is fit to show the sender.
func (s Standard) Make(ctx context.Context, data []byte) (Image, error) {
	s = s.withDefaults()
	if len(data) == 0 {
		return Image{}, fmt.Errorf("avatar: %w", ErrEmpty)
	}
	if int64(len(data)) > s.MaxInputBytes {
		return Image{}, fmt.Errorf("avatar: %d bytes, more than the %d allowed: %w", len(data), s.MaxInputBytes, ErrTooLarge)
	}
	f, err := sniff(data)
	if err != nil {
		return Image{}, err
	}
	if err := ctx.Err(); err != nil {
		return Image{}, fmt.Errorf("avatar: %w", err)
	}

	// The header alone says how much memory a decode would take; a
	// decompression bomb is refused here, before anything is allocated.
	cfg, err := decodeConfig(f, data)
	if err != nil {
		return Image{}, err
	}
	if err := s.checkDimensions(f, cfg.Width, cfg.Height); err != nil {
		return Image{}, err
	}
	if err := ctx.Err(); err != nil {
		return Image{}, fmt.Errorf("avatar: %w", err)
	}

	img, err := decode(f, data, cfg)
	if err != nil {
		return Image{}, err
	}
	if err := ctx.Err(); err != nil {
		return Image{}, fmt.Errorf("avatar: %w", err)
	}

	orientation := 1
	if f == formatJPEG {
		orientation = exifOrientation(data)
	}
	// Orientation is a rotation or mirror, which commutes with a centre crop
	// to a square and with a square resize; applying it last turns 128² pixels
	// instead of a whole photo.
	sq := orient(square(img, s.Size), orientation)
	if f == formatJPEG || opaque(img) {
		// Resampling may leave an alpha of 254 at an edge; an opaque source
		// must give an opaque PNG, which the encoder then writes as RGB.
		setOpaque(sq)
	} else {
		clearTransparent(sq)
	}
	if err := ctx.Err(); err != nil {
		return Image{}, fmt.Errorf("avatar: %w", err)
	}

	out, side, err := encodeWithin(ctx, sq, s.MaxBytes)
	if err != nil {
		return Image{}, err
	}
	sum := sha1.Sum(out)
	return Image{
		ID:     hex.EncodeToString(sum[:]),
		Type:   "image/png",
		Width:  side,
		Height: side,
		Data:   out,
	}, nil
}

func (s Standard) checkDimensions(f format, w, h int) error {
	if w <= 0 || h <= 0 {
		return fmt.Errorf("avatar: %s claims %dx%d pixels: %w", f, w, h, ErrCorrupt)
	}
	if w > s.MaxSide || h > s.MaxSide {
		return fmt.Errorf("avatar: %s is %dx%d pixels, a side may be at most %d: %w", f, w, h, s.MaxSide, ErrTooLarge)
	}
	if int64(w)*int64(h) > s.MaxPixels {
		return fmt.Errorf("avatar: %s is %dx%d pixels, more than the %d allowed: %w", f, w, h, s.MaxPixels, ErrTooLarge)
	}
	return nil
}

// opaque reports whether every pixel of img is opaque. The decoders' own
// Opaque methods are used where present: they are exact and fast.
func opaque(img image.Image) bool {
	if o, ok := img.(interface{ Opaque() bool }); ok {
		return o.Opaque()
	}
	return false
}
