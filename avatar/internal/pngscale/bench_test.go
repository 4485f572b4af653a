package pngscale_test

import (
	"bytes"
	"fmt"
	"image/png"
	"testing"

	"mmsprofile/avatar/internal/pngscale"
	"mmsprofile/avatar/internal/samplepic"
)

// benchPNGs are the pictures issue 19 names (see samplepic.BenchPNGs).
func benchPNGs(b *testing.B) []samplepic.PNG {
	b.Helper()
	pics, err := samplepic.BenchPNGs()
	if err != nil {
		b.Fatal(err)
	}
	return pics
}

// BenchmarkDecode compares a reduced decode at the scale a 128-pixel
// avatar needs with image/png's full decode of the same bytes.
func BenchmarkDecode(b *testing.B) {
	for _, p := range benchPNGs(b) {
		cfg, err := png.DecodeConfig(bytes.NewReader(p.Data))
		if err != nil {
			b.Fatal(err)
		}
		k := pngscale.Scale(min(cfg.Width, cfg.Height), 256)
		b.Run(fmt.Sprintf("%s/pngscale-1of%d", p.Name, k), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Data)))
			for b.Loop() {
				if _, err := pngscale.Decode(p.Data, k, 1<<25); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.Name+"/image-png", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.Data)))
			for b.Loop() {
				if _, err := png.Decode(bytes.NewReader(p.Data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
