//go:build vips && cgo

package avatar

/*
#cgo pkg-config: vips
#include <stdlib.h>
#include <vips/vips.h>

static void avatar_quiet(const gchar *domain, GLogLevelFlags level, const gchar *msg, gpointer data) {}

// Set up libvips for untrusted input, once per process.
static int avatar_vips_init(int concurrency) {
	if (VIPS_INIT("mmsprofile"))
		return -1;
	// What matters comes back as an error; the warnings libvips prints
	// for every broken stranger's file would only flood the daemon's log.
	g_log_set_handler("VIPS", G_LOG_LEVEL_WARNING, avatar_quiet, NULL);
	// The operation cache keeps decoded pictures to answer a repeated
	// call; we never repeat one, so it would only hold memory.
	vips_cache_set_max(0);
	vips_cache_set_max_mem(0);
	vips_cache_set_max_files(0);
	// Threads per picture; pictures in parallel come from our goroutines,
	// capped by Standard.Limiter.
	if (concurrency > 0)
		vips_concurrency_set(concurrency);
	// Go has sniffed the format before libvips sees the bytes, but
	// thumbnail_buffer runs libvips' own loader search: leave it only the
	// loaders we mean (not ImageMagick, PDF, SVG, FITS, Matlab, ...).
	vips_block_untrusted_set(TRUE);
	vips_operation_block_set("VipsForeignLoad", TRUE);
	vips_operation_block_set("VipsForeignLoadJpeg", FALSE);
	vips_operation_block_set("VipsForeignLoadPng", FALSE);
	vips_operation_block_set("VipsForeignLoadWebp", FALSE);
	vips_operation_block_set("VipsForeignLoadHeif", FALSE);
	return 0;
}

// avatar_rgba makes in 8-bit sRGB RGBA.
static int avatar_rgba(VipsImage *in, VipsImage **out) {
	VipsImage *rgb = NULL, *u8 = NULL;
	int ret = -1;
	if (vips_colourspace(in, &rgb, VIPS_INTERPRETATION_sRGB, NULL))
		goto done;
	if (rgb->BandFmt == VIPS_FORMAT_UCHAR) {
		u8 = rgb;
		g_object_ref(u8);
	} else if (vips_cast_uchar(rgb, &u8, NULL))
		goto done;
	if (u8->Bands == 3) {
		if (vips_bandjoin_const1(u8, out, 255.0, NULL))
			goto done;
	} else if (u8->Bands == 4) {
		*out = u8;
		g_object_ref(*out);
	} else {
		vips_error("avatar", "%d bands after conversion to sRGB", u8->Bands);
		goto done;
	}
	ret = 0;
done:
	if (rgb) g_object_unref(rgb);
	if (u8) g_object_unref(u8);
	return ret;
}

// avatar_heif_rgba decodes a HEIF file of one picture (a grid's tile) to
// 8-bit sRGB RGBA, whole: no shrink, no colour management, which come
// after the tiles are put together. Truncated input fails. Not static:
// heif_grid_vips.go declares and calls it.
int avatar_heif_rgba(void *buf, size_t len, void **out, size_t *outlen, int *w, int *h) {
	VipsImage *in = NULL, *rgba = NULL;
	int ret = -1;
	if (vips_heifload_buffer(buf, len, &in, "fail_on", VIPS_FAIL_ON_TRUNCATED, NULL))
		goto done;
	if (avatar_rgba(in, &rgba))
		goto done;
	*w = vips_image_get_width(rgba);
	*h = vips_image_get_height(rgba);
	*out = vips_image_write_to_memory(rgba, outlen);
	if (*out)
		ret = 0;
done:
	if (in) g_object_unref(in);
	if (rgba) g_object_unref(rgba);
	return ret;
}

// avatar_thumbnail shrinks on load (JPEG DCT scaling, WebP and HEIF scale
// hints), resizes with Lanczos, turns by EXIF orientation, crops (CMYK
// becomes sRGB on the way), then brings an embedded ICC profile's colours
// to sRGB on the small result and makes 8-bit RGBA. Truncated input fails,
// as in the Go decoders.
static int avatar_thumbnail(void *buf, size_t len, int size, int crop, VipsImage **out, int *alpha) {
	VipsImage *thumb = NULL, *managed = NULL, *rgba = NULL;
	int ret = -1;
	// Not thumbnail's export_profile: in 8.14 it also converts pictures
	// without a profile, and shifts their colours (blue 21,20,220 came out
	// 74,24,221).
	if (vips_thumbnail_buffer(buf, len, &thumb, size,
			"height", size,
			"crop", crop ? VIPS_INTERESTING_CENTRE : VIPS_INTERESTING_NONE,
			"option_string", "fail_on=truncated",
			NULL))
		goto done;
	*alpha = vips_image_hasalpha(thumb);
	if (vips_image_get_typeof(thumb, VIPS_META_ICC_NAME) &&
			vips_icc_transform(thumb, &managed, "srgb", "embedded", TRUE,
				"intent", VIPS_INTENT_RELATIVE, NULL)) {
		// A broken or mismatched profile (phones write both) is
		// ignored, as browsers do, rather than refusing the picture.
		vips_error_clear();
		managed = NULL;
	}
	if (!managed) {
		managed = thumb;
		g_object_ref(managed);
	}
	if (avatar_rgba(managed, &rgba))
		goto done;
	*out = rgba;
	rgba = NULL;
	ret = 0;
done:
	if (thumb) g_object_unref(thumb);
	if (managed) g_object_unref(managed);
	if (rgba) g_object_unref(rgba);
	return ret;
}

// avatar_icc_srgb brings w x h RGBA pixels tagged with the ICC profile
// icc to sRGB, for a picture Go decoded and shrank; libvips does the
// colour management, as for the pictures it decodes itself.
static int avatar_icc_srgb(const void *rgba, int w, int h, const void *icc, size_t icclen, void **out, size_t *outlen) {
	VipsImage *in = NULL, *managed = NULL, *u8 = NULL;
	int ret = -1;
	in = vips_image_new_from_memory_copy(rgba, (size_t)w * h * 4, w, h, 4, VIPS_FORMAT_UCHAR);
	if (!in)
		goto done;
	in->Type = VIPS_INTERPRETATION_sRGB;
	vips_image_set_blob_copy(in, VIPS_META_ICC_NAME, icc, icclen);
	if (vips_icc_transform(in, &managed, "srgb", "embedded", TRUE,
			"intent", VIPS_INTENT_RELATIVE, NULL))
		goto done;
	if (managed->BandFmt == VIPS_FORMAT_UCHAR) {
		u8 = managed;
		g_object_ref(u8);
	} else if (vips_cast_uchar(managed, &u8, NULL))
		goto done;
	if (u8->Bands != 4 || u8->Xsize != w || u8->Ysize != h) {
		vips_error("avatar", "%d bands of %dx%d after the profile", u8->Bands, u8->Xsize, u8->Ysize);
		goto done;
	}
	*out = vips_image_write_to_memory(u8, outlen);
	if (*out)
		ret = 0;
done:
	if (in) g_object_unref(in);
	if (managed) g_object_unref(managed);
	if (u8) g_object_unref(u8);
	return ret;
}

static void avatar_unref(VipsImage *im) { g_object_unref(im); }
static int avatar_width(VipsImage *im) { return vips_image_get_width(im); }
static int avatar_height(VipsImage *im) { return vips_image_get_height(im); }
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"os"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// vipsInit starts libvips once per process. libvips' state (its
// initialisation, cache and thread settings, blocked loaders) is global to
// the process in C, so a sync.Once is the honest shape for it here; nothing
// of ours is kept in it but the outcome.
var vipsInit = sync.OnceValue(func() error {
	// One thread per picture unless VIPS_CONCURRENCY says otherwise:
	// several pictures run in parallel from goroutines (see Limiter), and
	// shrink-on-load leaves little for more threads to share (see
	// scripts/bench-avatar.sh).
	threads := 1
	if os.Getenv("VIPS_CONCURRENCY") != "" {
		threads = 0 // vips_init has read it
	}
	if C.avatar_vips_init(C.int(threads)) != 0 {
		return fmt.Errorf("avatar: starting libvips: %s", vipsError())
	}
	return nil
})

func acceleratedBackend() backend { return vipsBackend{} }

// vipsBackend decodes and shrinks through libvips (PNG, WebP, HEIC and AVIF
// through libheif, CMYK and small JPEGs with libjpeg's shrink-on-load), and
// hands the JPEGs that jpegscale reads faster to it, with libvips managing
// their colour afterwards (see scaleJPEGInGo).
type vipsBackend struct{}

func (vipsBackend) name() string { return "vips" }

func (vipsBackend) decodes(f format) bool {
	switch f {
	case formatJPEG, formatPNG, formatWebP, formatHEIC, formatAVIF:
		return true
	}
	// BMP: libvips reads it only through ImageMagick, which stays blocked.
	// GIF: libvips 8.14 paints the screen around a first frame opaque black
	// where browsers (and Go) leave it transparent, and parses every frame
	// where Go stops after the first; MMS GIFs are small, so Go loses
	// nothing by doing them.
	return false
}

// decodable is hdr: libvips decodes any picture in the file.
func (vipsBackend) decodable(_ format, hdr header) header { return hdr }

func (vipsBackend) scale(ctx context.Context, f format, data []byte, hdr header, size int, crop bool) (scaled, error) {
	if err := vipsInit(); err != nil {
		return scaled{}, err
	}
	if f == formatJPEG {
		if sc, ok := scaleJPEGInGo(data, hdr, size, crop); ok {
			return sc, nil
		}
	}
	if f == formatPNG {
		// Only what pngscale does not read goes on to libvips.
		sc, err := scalePNGInGo(data, hdr, size, crop)
		if err == nil {
			if err := ctx.Err(); err != nil {
				return scaled{}, fmt.Errorf("avatar: %w", err)
			}
		}
		if !errors.Is(err, ErrUnsupported) {
			return sc, err
		}
	}
	if f == formatHEIC || f == formatAVIF {
		if sc, ok, err := scaleGrid(ctx, f, data, hdr, size, crop); ok {
			return sc, err
		}
	}
	// The output image is lazy and reads data until it is written out
	// below, after thumbnail_buffer has returned: data must stay put.
	var pin runtime.Pinner
	pin.Pin(&data[0])
	defer pin.Unpin()

	var (
		out   *C.VipsImage
		alpha C.int
	)
	cropFlag := C.int(0)
	if crop {
		cropFlag = 1
	}
	if C.avatar_thumbnail(unsafe.Pointer(&data[0]), C.size_t(len(data)), C.int(size), cropFlag, &out, &alpha) != 0 {
		return scaled{}, fmt.Errorf("avatar: %s %dx%d: %s: %w", f, hdr.width, hdr.height, vipsError(), ErrCorrupt)
	}
	defer C.avatar_unref(out)
	w, h := int(C.avatar_width(out)), int(C.avatar_height(out))
	if w <= 0 || h <= 0 || w > size || h > size {
		return scaled{}, fmt.Errorf("avatar: %s: libvips made %dx%d of %d: %w", f, w, h, size, ErrCorrupt)
	}
	var n C.size_t
	mem := C.vips_image_write_to_memory(out, &n)
	if mem == nil {
		return scaled{}, fmt.Errorf("avatar: %s %dx%d: %s: %w", f, hdr.width, hdr.height, vipsError(), ErrCorrupt)
	}
	defer C.g_free(C.gpointer(mem))
	if int(n) != w*h*4 {
		return scaled{}, fmt.Errorf("avatar: %s: libvips wrote %d bytes for %dx%d RGBA: %w", f, n, w, h, ErrCorrupt)
	}
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	copy(img.Pix, unsafe.Slice((*byte)(mem), int(n)))
	return scaled{img: img, opaque: alpha == 0}, nil
}

// scalePNGInGo makes the avatar of a PNG through pngscale, which streams
// it and averages it down as it goes, at any size. Measured
// (scripts/bench-avatar.sh, load 0-1): libvips is faster on 12 MP PNGs
// (C zlib: 8-bit RGB 250 ms vs 325, 16-bit RGBA 592 vs 803) but holds
// far more (peak RSS 66.7 vs 58.1 MB, 114.9 vs 72.1, the file included);
// memory wins while the time stays under a second. At 1600x1200 RGBA and
// for a palette pngscale is also faster (66 vs 77 ms, 77 vs 86). An
// embedded ICC profile is then applied by libvips to the small result, as
// avatar_thumbnail does to its own and scaleJPEGInGo to a JPEG's.
// Errors are pngscale's (a PNG cut short is refused, as libvips'
// fail_on=truncated does), but for ErrUnsupported, which leaves the
// picture to libvips.
func scalePNGInGo(data []byte, hdr header, size int, crop bool) (scaled, error) {
	pic, err := decodeScaledPNG(data, hdr.config, pngScaleFor(hdr.config, size, crop))
	if err != nil {
		return scaled{}, err
	}
	sc := shapeDecoded(formatPNG, data, pic.Image, size, crop)
	if pic.ICC != nil {
		if managed, err := iccToSRGB(sc.img, pic.ICC); err == nil {
			sc.img = managed
		}
		// A broken or mismatched profile is ignored, as for JPEG.
	}
	return sc, nil
}

// scaleJPEGInGo makes the avatar of a JPEG through jpegscale wherever a
// DCT scale applies: measured (scripts/bench-avatar.sh), it beats libjpeg's
// shrink-on-load on sequential JPEGs (it passes over the coefficient values
// a scale does not use), on progressive ones at 1/8 (it reads only their DC
// scans) and, with two cores, at 1/2 and 1/4 (it decodes independent scans
// at once; on one core it is even). An embedded ICC profile is then applied
// by libvips to the small result, as avatar_thumbnail does to its own. It
// reports false for what it leaves to libvips: pictures that need no DCT
// scale, CMYK (libvips converts it through a CMYK profile), and whatever
// jpegscale does not read.
func scaleJPEGInGo(data []byte, hdr header, size int, crop bool) (scaled, bool) {
	// The header's colour model says CMYK for four components.
	k := jpegScaleFor(hdr.config, size, crop)
	if k == 1 || hdr.config.ColorModel == color.CMYKModel {
		return scaled{}, false
	}
	img, err := decodeScaledJPEG(data, hdr.config, k)
	if err != nil {
		return scaled{}, false
	}
	sc := shapeDecoded(formatJPEG, data, img, size, crop)
	if icc := jpegICC(data); icc != nil {
		if managed, err := iccToSRGB(sc.img, icc); err == nil {
			sc.img = managed
		}
		// A broken or mismatched profile (phones write both) is ignored,
		// as browsers do and as avatar_thumbnail does.
	}
	return sc, true
}

// iccToSRGB converts img, whose numbers are in the colour space of the ICC
// profile icc, to sRGB.
func iccToSRGB(img *image.NRGBA, icc []byte) (*image.NRGBA, error) {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if b.Min != (image.Point{}) || img.Stride != 4*w || w == 0 || h == 0 || len(icc) == 0 {
		return nil, fmt.Errorf("avatar: ICC profile: picture %v with stride %d", b, img.Stride)
	}
	var (
		mem unsafe.Pointer
		n   C.size_t
	)
	if C.avatar_icc_srgb(unsafe.Pointer(&img.Pix[0]), C.int(w), C.int(h), unsafe.Pointer(&icc[0]), C.size_t(len(icc)), &mem, &n) != 0 {
		return nil, fmt.Errorf("avatar: ICC profile: %s", vipsError())
	}
	defer C.g_free(C.gpointer(mem))
	if int(n) != w*h*4 {
		return nil, fmt.Errorf("avatar: ICC profile: libvips wrote %d bytes for %dx%d RGBA", n, w, h)
	}
	out := image.NewNRGBA(image.Rect(0, 0, w, h))
	copy(out.Pix, unsafe.Slice((*byte)(mem), int(n)))
	return out, nil
}

// vipsError takes libvips' error text. The buffer is process-wide, so
// under load it may hold another picture's words too; it is only logged.
func vipsError() string {
	p := C.vips_error_buffer_copy()
	defer C.g_free(C.gpointer(p))
	s := strings.TrimSpace(C.GoString(p))
	if s == "" {
		return "libvips failed"
	}
	return strings.ReplaceAll(s, "\n", "; ")
}
