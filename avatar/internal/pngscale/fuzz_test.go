package pngscale_test

import (
	"bytes"
	"errors"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"mmsprofile/avatar/internal/pngscale"
)

// FuzzDecode feeds Decode arbitrary bytes at several scales: it must never
// panic, must refuse with one of its sentinels, must return a picture of
// the promised size, and must decode whatever image/png decodes (unknown
// critical chunks aside) to the same pixels. Plain go test runs the seeds:
// a small PNG of every kind the decode tests make, the PNGs of
// avatar/testdata, and their first halves.
func FuzzDecode(f *testing.F) {
	for _, s := range specs() {
		s.w, s.h = 9, 7
		b := s.file()
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	files, err := filepath.Glob("../../testdata/*.png")
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The pixel bound keeps the fuzzer on the parser, off memory.
		const maxPixels = 1 << 16
		var want *image.NRGBA
		if cfg, err := png.DecodeConfig(bytes.NewReader(data)); err == nil && cfg.Width*cfg.Height <= maxPixels {
			if _, err := png.Decode(bytes.NewReader(data)); err == nil {
				pix, w, h, wide := reference(t, data)
				want = exact(pix, w, h, wide)
			}
		}
		for _, k := range []int{1, 2, 3, 8} {
			got, err := pngscale.Decode(data, k, maxPixels)
			if err != nil {
				if !errors.Is(err, pngscale.ErrCorrupt) && !errors.Is(err, pngscale.ErrUnsupported) && !errors.Is(err, pngscale.ErrTooLarge) {
					t.Fatalf("1/%d: error matches no sentinel: %v", k, err)
				}
				if want != nil && !errors.Is(err, pngscale.ErrUnsupported) {
					t.Fatalf("1/%d: %v where image/png decodes", k, err)
				}
				continue
			}
			b := got.Image.Rect
			if b.Min != (image.Point{}) || b.Empty() || want != nil && b != image.Rect(0, 0, (want.Rect.Dx()+k-1)/k, (want.Rect.Dy()+k-1)/k) {
				t.Fatalf("1/%d: %v", k, b)
			}
			if k == 1 && want != nil {
				if d, at := diff(got.Image, want); d != 0 {
					t.Fatalf("off by %d at %v from image/png", d, at)
				}
			}
		}
	})
}
