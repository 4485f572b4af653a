package avatar

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"strings"

	"github.com/disintegration/imaging"
)

// A backend turns the bytes of a picture whose header Make has already
// checked into a small upright sRGB picture. Everything before (sniffing,
// limits) and after (blank check, padding, the PNG byte budget, the hook)
// is shared, so both backends answer to the same rules and the same tests.
type backend interface {
	name() string
	// decodes reports whether the backend reads format f.
	decodes(f format) bool
	// scale returns the picture in data, upright (EXIF orientation
	// applied), either centre-cropped to size x size (crop) or fitted
	// within size x size with its longer side size (!crop).
	scale(ctx context.Context, f format, data []byte, hdr header, size int, crop bool) (scaled, error)
	// decodable is the size of the largest picture in the file the
	// backend will decode, which bounds the renditions it can fill.
	decodable(f format, hdr header) header
}

// scaled is a backend's result.
type scaled struct {
	img *image.NRGBA
	// opaque says the source had no transparency, so the result must have
	// none either, whatever resampling left at its edges.
	opaque bool
}

// Backends names the decoder backends compiled into this build, the
// preferred one first: "vips" (build tag vips, cgo and libvips) and "go".
func Backends() []string {
	if b := acceleratedBackend(); b != nil {
		return []string{b.name(), goBackend{}.name()}
	}
	return []string{goBackend{}.name()}
}

// InputTypes lists the media types Standard.Accept may name, whether or not
// this build decodes them all; see Decodes.
func InputTypes() []string {
	return []string{"image/jpeg", "image/png", "image/gif", "image/webp", "image/bmp", "image/heic", "image/avif"}
}

// Decodes reports whether the named backend ("" for the preferred one)
// decodes pictures of the media type, so that configuration can warn about
// an accepted type that would always be refused.
func Decodes(backendName, mediaType string) bool {
	be, err := Standard{Backend: backendName}.backend()
	if err != nil {
		return false
	}
	for _, f := range allFormats {
		if f.mediaType() == mediaType {
			return be.decodes(f) || goBackend{}.decodes(f)
		}
	}
	return false
}

func (s Standard) backend() (backend, error) {
	acc := acceleratedBackend()
	switch s.Backend {
	case "":
		if acc != nil {
			return acc, nil
		}
		return goBackend{}, nil
	case goBackend{}.name():
		return goBackend{}, nil
	}
	if acc != nil && s.Backend == acc.name() {
		return acc, nil
	}
	return nil, fmt.Errorf("avatar: backend %q is not in this build, which has %s", s.Backend, strings.Join(Backends(), ", "))
}

// goBackend is the pure-Go decoder: the default build, no C toolchain.
type goBackend struct{}

func (goBackend) name() string { return "go" }

func (goBackend) decodes(f format) bool {
	switch f {
	case formatJPEG, formatPNG, formatGIF, formatWebP, formatBMP, formatHEIC, formatAVIF:
		return true
	}
	return false
}

// decodable is hdr, but for a HEIF picture over what the WebAssembly
// decoder takes whole and not a grid (which it takes a tile at a time):
// then its largest thumbnail, which is all that will be decoded.
func (goBackend) decodable(f format, hdr header) header {
	if f != formatHEIC && f != formatAVIF || int64(hdr.width)*int64(hdr.height) <= maxWasmPixels || hdr.heif.primaryType == "grid" {
		return hdr
	}
	var best heifThumb
	for _, t := range hdr.heif.thumbs {
		if t.width*t.height > best.width*best.height {
			best = t
		}
	}
	if best.width == 0 {
		return hdr
	}
	hdr.width, hdr.height = best.width, best.height
	return hdr
}

func (goBackend) scale(ctx context.Context, f format, data []byte, hdr header, size int, crop bool) (scaled, error) {
	var (
		img image.Image
		err error
	)
	if f == formatHEIC || f == formatAVIF {
		img, err = decodeHEIF(ctx, f, data, hdr, size, crop)
	} else {
		img, err = decodeFor(f, data, hdr.config, size, crop)
	}
	if err != nil {
		return scaled{}, err
	}
	if err := ctx.Err(); err != nil {
		return scaled{}, fmt.Errorf("avatar: %w", err)
	}
	return shapeDecoded(f, data, img, size, crop), nil
}

// shapeDecoded crops or fits a decoded picture to size and turns it
// upright.
func shapeDecoded(f format, data []byte, img image.Image, size int, crop bool) scaled {
	// Asked once: for a picture with alpha it is a scan of every pixel.
	opq := f == formatJPEG || opaque(img)
	var small *image.NRGBA
	if crop {
		small = square(img, opq, size)
	} else {
		small = fit(img, opq, size)
	}
	orientation := 1
	if f == formatJPEG {
		orientation = exifOrientation(data)
	}
	// Orientation is a rotation or mirror, which commutes with a centre crop
	// to a square and with a resize; applying it last turns 128² pixels
	// instead of a whole photo (~160 ms at 12 MP).
	return scaled{img: orient(small, orientation), opaque: opq}
}

// pad centres img on a size x size square of bg.
func pad(img *image.NRGBA, size int, bg color.NRGBA) *image.NRGBA {
	b := img.Bounds()
	if b.Dx() == size && b.Dy() == size {
		return img
	}
	// Overlay blends, so a transparent picture shows the background
	// through, as it would on a page of that colour.
	return imaging.Overlay(imaging.New(size, size, bg), img, image.Pt((size-b.Dx())/2, (size-b.Dy())/2), 1)
}
