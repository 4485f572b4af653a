//go:build vips && cgo

package avatar

import (
	"image"
	"os"
	"testing"

	"mmsprofile/avatar/internal/samplepic"
)

// TestVipsTakesJPEGScale checks which JPEGs the vips backend hands to
// jpegscale: those the benchmarks found faster that way.
func TestVipsTakesJPEGScale(t *testing.T) {
	photo := encodeJPEG(t, samplepic.Photo(1200, 900, 2), 90)
	progressive, err := os.ReadFile("internal/jpegscale/testdata/prog420.jpg") // 333x217
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		data []byte
		size int
		want bool
	}{
		{"baseline at 1/4", photo, 128, true},
		{"baseline at 1/8", photo, 64, true},
		{"baseline, no scale", photo, 700, false},
		{"with a profile", adobeRGBPhoto(t, 768), 64, true},
		{"progressive at 1/2", progressive, 64, true},
		{"progressive, no scale", readTestdata(t, "progressive.jpg"), 40, false},
		{"CMYK", readTestdata(t, "cmyk.jpg"), 16, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hdr, err := readHeader(formatJPEG, tc.data)
			if err != nil {
				t.Fatal(err)
			}
			sc, ok := scaleJPEGInGo(tc.data, hdr, tc.size, true)
			if ok != tc.want {
				t.Fatalf("taken = %v, want %v", ok, tc.want)
			}
			if ok && sc.img.Bounds() != image.Rect(0, 0, tc.size, tc.size) {
				t.Errorf("bounds %v, want %dx%d", sc.img.Bounds(), tc.size, tc.size)
			}
		})
	}
}
