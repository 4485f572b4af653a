//go:build vips && cgo

package avatar

/*
#include <stdlib.h>
#include <vips/vips.h>

// In backend_vips.go, beside the conversion it shares with the thumbnail.
int avatar_heif_rgba(void *buf, size_t len, void **out, size_t *outlen, int *w, int *h);
*/
import "C"

import (
	"context"
	"errors"
	"fmt"
	"image"
	"slices"
	"unsafe"
)

// scaleGrid makes the avatar of a HEIF grid picture a tile at a time
// (decodeGrid), each tile decoded by libvips, where no thumbnail in the
// file suits: libvips would decode the grid whole, 139 MB of peak memory
// for a 12 MP phone photo. It reports false for what it leaves to
// libvips: a picture with a thumbnail that suits (libvips takes it), one
// that is no grid, or a grid decodeGrid does not take.
func scaleGrid(ctx context.Context, f format, data []byte, hdr header, size int, crop bool) (scaled, bool, error) {
	info := hdr.heif
	if info.primaryType != "grid" {
		return scaled{}, false, nil
	}
	pw, ph := info.raw.size(info.primary)
	if _, ok := info.thumbFor(size, crop, pw, ph); ok {
		return scaled{}, false, nil
	}
	img, err := info.decodeGrid(ctx, f, data, size, crop, vipsTile, vipsTileDecodes)
	if errors.Is(err, errGridUnsupported) {
		return scaled{}, false, nil
	}
	if err != nil {
		return scaled{}, true, err
	}
	sc := shapeDecoded(f, data, img, size, crop)
	if icc := info.gridICC(); icc != nil {
		if managed, err := iccToSRGB(sc.img, icc); err == nil {
			sc.img = managed
		}
		// A broken or mismatched profile is ignored, as avatar_thumbnail
		// does.
	}
	return sc, true, nil
}

// vipsTileDecodes is how many tiles scaleGrid decodes at once. Measured
// on a 12 MP grid of 48 tiles of 512x512, 2 cores, idle machine: one at a
// time, peak RSS 58 MB and 0.92-0.94 s; two at once, 67 MB and 0.55-0.57 s;
// libvips' whole decode (libheif's own threads) 112 MB and 0.42 s. Memory
// is the goal (under 64 MB): one, at twice the time.
const vipsTileDecodes = 1

// vipsTile decodes one tile with libvips (libheif and libde265, natively).
// The picture it returns is libvips' memory, freed by its release once
// decodeGrid has added it: no Go copy of every tile for the collector.
func vipsTile(tile []byte) (image.Image, error) {
	if len(tile) == 0 {
		return nil, fmt.Errorf("empty tile")
	}
	var (
		mem  unsafe.Pointer
		n    C.size_t
		w, h C.int
	)
	// The buffer is read only within the call: the image is written out
	// before avatar_heif_rgba returns.
	if C.avatar_heif_rgba(unsafe.Pointer(&tile[0]), C.size_t(len(tile)), &mem, &n, &w, &h) != 0 {
		return nil, fmt.Errorf("libvips: %s", vipsError())
	}
	if w <= 0 || h <= 0 || int(n) != int(w)*int(h)*4 {
		C.g_free(C.gpointer(mem))
		return nil, fmt.Errorf("libvips wrote %d bytes for %dx%d RGBA", n, w, h)
	}
	img := &image.NRGBA{Pix: unsafe.Slice((*byte)(mem), int(n)), Stride: 4 * int(w), Rect: image.Rect(0, 0, int(w), int(h))}
	return cTile{img, mem}, nil
}

// cTile is a tile in C memory.
type cTile struct {
	*image.NRGBA
	mem unsafe.Pointer
}

func (t cTile) release() { C.g_free(C.gpointer(t.mem)) }

// nrgba lets boxCanvas.add take its fast path.
func (t cTile) nrgba() *image.NRGBA { return t.NRGBA }

// gridICC is the ICC profile of the primary grid picture or, failing
// that, of its first tile: the colour its pixels are in.
func (info heifInfo) gridICC() []byte {
	for _, id := range append([]uint32{info.primary}, info.tileIDs[:min(1, len(info.tileIDs))]...) {
		for _, idx := range info.raw.assoc[id] {
			if idx < 1 || idx > len(info.raw.props) {
				continue
			}
			p := info.raw.props[idx-1]
			body := p[boxHeaderLen(p):]
			if string(p[4:8]) == "colr" && len(body) > 4 && slices.Contains([]string{"prof", "rICC"}, string(body[:4])) {
				return body[4:]
			}
		}
	}
	return nil
}
