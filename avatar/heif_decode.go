package avatar

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"runtime"

	"github.com/gen2brain/avif"
	"github.com/gen2brain/heic"
)

// decodeHEIF decodes a HEIC (libheif and libde265) or an AVIF (libavif
// and dav1d) compiled to WebAssembly and run under wazero: no cgo, and a
// decoder bug stays inside the module's memory. Built without the tag
// nodynamic, those packages use the system's libheif or libavif instead
// when one is installed (see the Makefile).
//
// Where the file has a thumbnail at least the side the avatar needs, only
// the thumbnail is decoded: an iPhone's 12 MP photo carries a 320x240 one,
// plenty for a 128 px avatar, and the whole photo decoded would cost its
// full size in the module's memory and every tile's decode. A thumbnail
// that cannot be taken or decoded falls back to the primary picture.
//
// A primary picture that is a grid of tiles, as phones write their photos,
// is decoded a tile at a time (see decodeGrid), whatever its size: the
// memory is a tile's, not the picture's.
func decodeHEIF(ctx context.Context, f format, data []byte, hdr header, size int, crop bool) (image.Image, error) {
	info := hdr.heif
	pw, ph := info.raw.size(info.primary)
	if t, ok := info.thumbFor(size, crop, pw, ph); ok {
		if small, err := info.extractThumb(data, t); err == nil {
			if img, err := decodeWasm(f, small); err == nil && within(img, t.width, t.height) {
				return img, nil
			}
		}
	}
	grid, err := info.decodeGrid(ctx, f, data, size, crop, wasmTiles(f), 1)
	switch {
	case err == nil:
		return grid, nil
	case !errors.Is(err, errGridUnsupported):
		return nil, err
	}
	if px := int64(hdr.width) * int64(hdr.height); px > maxWasmPixels {
		return nil, fmt.Errorf("avatar: %s %dx%d has no thumbnail of %d px and is over the %d pixels this server decodes whole: %w",
			f, hdr.width, hdr.height, size, maxWasmPixels, ErrTooLarge)
	}
	img, err := decodeWasm(f, data)
	if errors.Is(err, errNarrowHEIC) {
		return nil, fmt.Errorf("avatar: %s %dx%d: %v: %w", f, hdr.width, hdr.height, err, ErrUnsupported)
	}
	if err != nil {
		return nil, fmt.Errorf("avatar: %s %dx%d: %v: %w", f, hdr.width, hdr.height, err, ErrCorrupt)
	}
	if !within(img, hdr.width, hdr.height) {
		return nil, fmt.Errorf("avatar: %s header says at most %dx%d, picture is %v: %w", f, hdr.width, hdr.height, img.Bounds(), ErrCorrupt)
	}
	return img, nil
}

// wasmTiles is decodeWasm for decodeGrid. Each decode instantiates the
// module afresh, with linear memory of its own; collecting the garbage
// before the next tile lets it reuse the last one's memory rather than add
// to it. Measured on a 12 MP grid of 48 tiles of 512x512: peak RSS 59 MB
// every time, against 62-78 MB without (the module's compiled code alone
// takes it to 52), and no slower (2.27 s against 2.35).
func wasmTiles(f format) tileDecoder {
	return func(tile []byte) (image.Image, error) {
		runtime.GC()
		return decodeWasm(f, tile)
	}
}

// maxWasmPixels bounds a HEIF picture decoded whole in WebAssembly, so
// that one avatar stays within about 100 MB: measured on a single-frame
// HEIC, peak RSS was 84 MB at 3 MP, 114 MB at 4.3 MP and 276 MB at 12 MP
// (libde265's frame buffers, the output, its NRGBA copy, and the compiled
// module). Phones' photos carry a thumbnail and never get here; a larger
// one without is refused as too large, with advice to send a JPEG, unless
// it is a grid, which is decoded a tile at a time.
const maxWasmPixels = 3_000_000

// within reports whether img is at most w x h, either way round (a
// rotation property turns it), and not empty.
func within(img image.Image, w, h int) bool {
	b := img.Bounds()
	dx, dy := b.Dx(), b.Dy()
	return dx > 0 && dy > 0 && (dx <= w && dy <= h || dx <= h && dy <= w)
}

// errNarrowHEIC: see heicLayoutOK.
var errNarrowHEIC = errors.New("too narrow for the WebAssembly HEIC decoder")

// heicLayoutOK reports whether the picture heic.Decode returned has the
// pixels libheif wrote. heic v0.4.5 reads each plane with a stride of its
// width rounded up to 16 bytes, but libheif 1.18 widens a plane narrower
// than 64 pixels to 64 before rounding: a plane under 49 bytes across
// (a 4:2:0 picture under 97 pixels wide) then comes out with its rows
// shifted. Phones' photos and their thumbnails are far wider; a picture
// this small is refused rather than shown garbled.
func heicLayoutOK(img image.Image) bool {
	w := img.Bounds().Dx()
	switch m := img.(type) {
	case *image.YCbCr:
		cw := w
		if m.SubsampleRatio != image.YCbCrSubsampleRatio444 {
			cw = (w + 1) / 2
		}
		return w >= 49 && cw >= 49
	case *image.Gray:
		return w >= 49
	case *image.NRGBA, *image.RGBA:
		return w >= 63
	}
	return false
}

// decodeWasm runs the WebAssembly decoder, a panic turned into an error.
// It takes no context: heic.Decode and avif.Decode offer none, so a
// decode runs to its end even past the MMS's deadline. What bounds it is what reaches
// here: the header checks against max_pixels and the 3 MP cap on a
// thumbnail-less HEIF (about 2 s and 84 MB at worst), and the limiter's
// max_concurrent slots.
func decodeWasm(f format, data []byte) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("decoder: %v", r)
		}
	}()
	switch f {
	case formatHEIC:
		img, err := heic.Decode(bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if !heicLayoutOK(img) {
			return nil, errNarrowHEIC
		}
		return img, nil
	case formatAVIF:
		return avif.Decode(bytes.NewReader(data))
	}
	return nil, fmt.Errorf("not a HEIF format: %s", f)
}
