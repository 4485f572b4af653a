package avatar

import (
	"context"
	"crypto/sha1"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"runtime/trace"
	"slices"
	"strings"
	"time"
)

// Defaults used for every zero (or negative) field of a Standard, so that a
// zero Standard is the operator standard DESIGN.md assumes.
const (
	DefaultSize          = 128
	DefaultMaxBytes      = 64 << 10
	DefaultMaxPixels     = 25_000_000
	DefaultMaxSide       = 10_000
	DefaultMaxInputBytes = 10 << 20
	// DefaultMinSide refuses thumbnails of thumbnails: a picture whose
	// shorter side is under 32 pixels would be blown up into blocks.
	DefaultMinSide = 32
	// DefaultMaxFrames bounds an animated GIF. Only the first frame is
	// shown, but every frame header is read; phones' GIFs have hundreds.
	DefaultMaxFrames = 1000
	// DefaultMinDetail is the spread (standard deviation, 0-255 levels) of
	// the avatar's pixels below which it counts as blank. A photo of a dark
	// room has 10 or more; a lens cap or a blank screen well under 1.
	DefaultMinDetail = 2.0
	// DefaultHookTimeout bounds the operator's content check.
	DefaultHookTimeout = 5 * time.Second
)

// The sentinel texts end up in the reply to the phone user, so they are
// plain words rather than codes.
var (
	// ErrEmpty reports an input of zero bytes.
	ErrEmpty = errors.New("the picture is empty")
	// ErrTooLarge reports an input over a limit: its bytes, its pixel count,
	// a side, its frames, or an encoding that cannot be brought within MaxBytes.
	ErrTooLarge = errors.New("the picture is too large")
	// ErrTooSmall reports a picture whose shorter side is under MinSide.
	ErrTooSmall = errors.New("the picture is too small, please send a bigger one")
	// ErrUnsupported reports a format that is recognised but not decoded
	// by this build or not accepted by the operator (TIFF, animated WebP,
	// a HEIC too narrow for the WebAssembly decoder, …) or bytes that are
	// no known picture.
	ErrUnsupported = errors.New("this kind of picture is not supported, please send a JPEG or PNG")
	// ErrCorrupt reports a picture of a supported format that cannot be decoded.
	ErrCorrupt = errors.New("the picture is damaged")
	// ErrBlank reports a nearly uniform picture: a black frame, a lens cap,
	// an empty screen.
	ErrBlank = errors.New("the picture looks blank, please send a photo")
	// ErrRejected reports a picture the operator's hook refused.
	ErrRejected = errors.New("the picture was not accepted by the service's content rules")
	// ErrCheckFailed reports that the operator's hook could not decide
	// (it crashed, timed out or could not be started). Unlike the others it
	// says nothing about the picture: sending it again later may work.
	ErrCheckFailed = errors.New("the picture could not be checked just now, please try again later")
)

// Crop says how a picture that is not square becomes one.
type Crop string

const (
	// CropCentre keeps the largest centred square; the default.
	CropCentre Crop = "centre"
	// CropFit keeps the whole picture and fills the rest of the square
	// with Standard.Background.
	CropFit Crop = "fit"
)

// Standard is the operator's avatar standard. The zero value means the
// defaults above; Standard is a plain value, safe to copy and to use from
// many goroutines at once.
type Standard struct {
	Size          int   // square side in pixels, default 128
	MaxBytes      int   // encoded size budget, default 65536
	MaxPixels     int64 // decode refused above this, default 25_000_000
	MaxSide       int   // each side, default 10000
	MaxInputBytes int64 // default 10 MiB
	MinSide       int   // the shorter side at least, default 32
	MaxFrames     int   // frames of an animation, default 1000

	// Accept lists the media types taken (see InputTypes), whatever the
	// build could decode; empty means all that the build decodes.
	Accept []string

	Crop       Crop        // CropCentre (default) or CropFit
	Background color.NRGBA // CropFit's bands; the zero value is transparent

	// MinDetail is the spread of the avatar's pixels below which it is
	// refused as blank; default 2, negative turns the check off.
	MinDetail float64

	// Hook, when set, is an operator's command (argv, no shell) that gets
	// the finished PNG on its standard input: exit status 0 accepts it, 1
	// refuses it (ErrRejected), anything else, or running longer than
	// HookTimeout (default 5 s), is ErrCheckFailed.
	Hook        []string
	HookTimeout time.Duration

	// Limiter, shared by every copy of the Standard that holds it, caps
	// how many pictures are decoded at once; nil means no cap.
	Limiter *Limiter

	// Backend names the decoder: "" for the best in this build, or one of
	// Backends().
	Backend string

	// Renditions lists the square sides of larger copies Make adds to the
	// Image as JPEG (see Rendition), each over Size and at most
	// MaxRenditionSide; empty makes none. RenditionQuality is their JPEG
	// quality, default 85.
	Renditions       []int
	RenditionQuality int
}

// Image is a picture brought to the standard.
type Image struct {
	ID            string // lowercase SHA-1 hex of Data: the XEP-0084 item id
	Type          string // media type of Data, "image/png"
	Width, Height int    // Size x Size, smaller only when MaxBytes forced it
	Data          []byte
	// Renditions are the larger copies Standard.Renditions asked for that
	// the picture could fill, smallest first.
	Renditions []Rendition
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
	if s.MinSide <= 0 {
		s.MinSide = DefaultMinSide
	}
	if s.MaxFrames <= 0 {
		s.MaxFrames = DefaultMaxFrames
	}
	if s.Crop == "" {
		s.Crop = CropCentre
	}
	if s.MinDetail == 0 {
		s.MinDetail = DefaultMinDetail
	}
	if s.HookTimeout <= 0 {
		s.HookTimeout = DefaultHookTimeout
	}
	if s.RenditionQuality <= 0 {
		s.RenditionQuality = DefaultRenditionQuality
	}
	return s
}

// Check reports the first field of s that Make could not work with, in
// words fit for a configuration error. Zero fields are fine: they mean the
// defaults.
func (s Standard) Check() error {
	s = s.withDefaults()
	switch {
	case s.Crop != CropCentre && s.Crop != CropFit:
		return fmt.Errorf("avatar: crop %q: want %q or %q", s.Crop, CropCentre, CropFit)
	case s.MinSide > s.MaxSide:
		return fmt.Errorf("avatar: min_side %d is over max_side %d", s.MinSide, s.MaxSide)
	case s.Size < minSide:
		return fmt.Errorf("avatar: size %d: want at least %d", s.Size, minSide)
	}
	for _, t := range s.Accept {
		if !slices.Contains(InputTypes(), t) {
			return fmt.Errorf("avatar: accept: unknown type %q, want some of %s", t, strings.Join(InputTypes(), ", "))
		}
	}
	if err := s.checkRenditions(); err != nil {
		return err
	}
	if _, err := s.backend(); err != nil {
		return err
	}
	return nil
}

// Make decodes data (JPEG, PNG, GIF, WebP, BMP, HEIC or AVIF, whatever it
// is labelled; see decodeHEIF for HEIC and AVIF in the pure-Go backend), applies its EXIF orientation,
// crops or fits it to a square, resizes it to s.Size and encodes it as PNG
// within s.MaxBytes. The result is built from pixels only, so no metadata of
// the input survives. When s.Renditions asks for larger copies, the picture
// is decoded once at the largest side it can fill, and the avatar and each
// JPEG rendition are resampled from that; sides it cannot fill are left
// out. The Hook sees the PNG only.
//
// Errors match one of the Err… sentinels with errors.Is, or are ctx's
// error; their text is fit to show the sender.
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
	if len(s.Accept) > 0 && !slices.Contains(s.Accept, f.mediaType()) {
		return Image{}, fmt.Errorf("avatar: %s pictures are not taken here: %w", f, ErrUnsupported)
	}
	be, err := s.backend()
	if err != nil {
		return Image{}, err
	}
	if !be.decodes(f) || f == formatJPEG && truncatedJPEG(data) {
		// A vips build still has the pure-Go decoders for what libvips
		// reads only through ImageMagick (BMP), which stays blocked, and
		// for JPEGs cut short, which libvips is told to refuse (its
		// fail_on guards the other formats) and Go decodes as far as
		// they go.
		be = goBackend{}
	}
	if !be.decodes(f) {
		return Image{}, fmt.Errorf("avatar: %s pictures cannot be read by this server: %w", f, ErrUnsupported)
	}
	if err := ctx.Err(); err != nil {
		return Image{}, fmt.Errorf("avatar: %w", err)
	}

	// The header alone says how much memory a decode would take; a
	// decompression bomb is refused here, in Go, before any decoder (ours
	// or libvips) allocates the picture.
	hdr, err := readHeader(f, data)
	if err != nil {
		return Image{}, err
	}
	if err := s.checkHeader(f, hdr); err != nil {
		return Image{}, err
	}

	// With renditions the picture is decoded once, at the largest side
	// it can fill, and the avatar is made from that.
	var (
		sq         scaled
		renditions []Rendition
	)
	scaling := trace.StartRegion(ctx, "avatar.decode-scale")
	if sides := s.renditionSides(be.decodable(f, hdr)); len(sides) == 0 {
		sq, err = s.scale(ctx, be, f, data, hdr)
	} else {
		sq, renditions, err = s.scaleWithRenditions(ctx, be, f, data, hdr, sides)
	}
	scaling.End()
	if err != nil {
		return Image{}, err
	}
	if err := ctx.Err(); err != nil {
		return Image{}, fmt.Errorf("avatar: %w", err)
	}
	if s.MinDetail > 0 {
		if d := detail(sq.img); d < s.MinDetail {
			return Image{}, fmt.Errorf("avatar: %s spread %.2f levels, under %.2f: %w", f, d, s.MinDetail, ErrBlank)
		}
	}
	out := sq.img
	if s.Crop == CropFit {
		out = pad(sq.img, s.Size, s.Background)
	}
	if sq.opaque && (s.Crop == CropCentre || s.Background.A == 0xff) {
		// Resampling may leave an alpha of 254 at an edge; an opaque source
		// must give an opaque PNG, which the encoder then writes as RGB.
		setOpaque(out)
	} else {
		clearTransparent(out)
	}

	encoding := trace.StartRegion(ctx, "avatar.encode")
	enc, side, err := encodeWithin(ctx, out, s.MaxBytes)
	encoding.End()
	if err != nil {
		return Image{}, err
	}
	if len(s.Hook) > 0 {
		if err := runHook(ctx, s.Hook, s.HookTimeout, enc); err != nil {
			return Image{}, err
		}
	}
	sum := sha1.Sum(enc)
	return Image{
		ID:         hex.EncodeToString(sum[:]),
		Type:       "image/png",
		Width:      side,
		Height:     side,
		Data:       enc,
		Renditions: renditions,
	}, nil
}

// scale runs the backend inside a Limiter slot: this is where a picture's
// pixels are in memory, so this is what the cap counts.
func (s Standard) scale(ctx context.Context, be backend, f format, data []byte, hdr header) (scaled, error) {
	if err := s.Limiter.acquire(ctx); err != nil {
		return scaled{}, fmt.Errorf("avatar: waiting to decode: %w", err)
	}
	defer s.Limiter.release()
	return s.scaleHeld(ctx, be, f, data, hdr)
}

// scaleHeld is scale for a caller that holds a Limiter slot.
func (s Standard) scaleHeld(ctx context.Context, be backend, f format, data []byte, hdr header) (scaled, error) {
	if err := ctx.Err(); err != nil {
		return scaled{}, fmt.Errorf("avatar: %w", err)
	}
	sq, err := be.scale(ctx, f, data, hdr, s.Size, s.Crop == CropCentre)
	if err != nil {
		return scaled{}, err
	}
	b := sq.img.Bounds()
	want := s.Size
	if s.Crop == CropFit {
		// Only the longer side is Size; the shorter is at least 1.
		want = max(b.Dx(), b.Dy())
	}
	if b.Min != (image.Point{}) || max(b.Dx(), b.Dy()) != want || (s.Crop == CropCentre && b.Dx() != b.Dy()) || min(b.Dx(), b.Dy()) < 1 {
		return scaled{}, fmt.Errorf("avatar: %s backend gave %v for size %d", be.name(), b, s.Size)
	}
	return sq, nil
}

func (s Standard) checkHeader(f format, h header) error {
	w, ht := h.width, h.height
	if w <= 0 || ht <= 0 {
		return fmt.Errorf("avatar: %s claims %dx%d pixels: %w", f, w, ht, ErrCorrupt)
	}
	if w > s.MaxSide || ht > s.MaxSide {
		return fmt.Errorf("avatar: %s is %dx%d pixels, a side may be at most %d: %w", f, w, ht, s.MaxSide, ErrTooLarge)
	}
	if int64(w)*int64(ht) > s.MaxPixels {
		return fmt.Errorf("avatar: %s is %dx%d pixels, more than the %d allowed: %w", f, w, ht, s.MaxPixels, ErrTooLarge)
	}
	if h.scans > maxJPEGScans {
		return fmt.Errorf("avatar: %s has more than %d scans: %w", f, maxJPEGScans, ErrTooLarge)
	}
	if h.heif.tiles > maxHEIFTiles {
		return fmt.Errorf("avatar: %s is a grid of %d tiles, more than the %d allowed: %w", f, h.heif.tiles, maxHEIFTiles, ErrTooLarge)
	}
	if h.heif.items > maxHEIFItems {
		return fmt.Errorf("avatar: %s holds %d items, more than the %d allowed: %w", f, h.heif.items, maxHEIFItems, ErrTooLarge)
	}
	if h.frames > s.MaxFrames {
		return fmt.Errorf("avatar: %s has %d frames, more than the %d allowed: %w", f, h.frames, s.MaxFrames, ErrTooLarge)
	}
	if min(w, ht) < s.MinSide {
		return fmt.Errorf("avatar: %s is %dx%d pixels, a side must be at least %d: %w", f, w, ht, s.MinSide, ErrTooSmall)
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
