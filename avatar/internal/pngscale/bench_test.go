package pngscale_test

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/png"
	"testing"

	"mmsprofile/avatar/internal/pngscale"
	"mmsprofile/avatar/internal/samplepic"
)

// benchPNGs are the pictures issue 19 names: a 1600x1200 RGBA sticker
// (as scripts/bench-avatar.sh uses), and 12 MP photos as 8-bit RGB,
// 16-bit RGBA and a 256-colour palette.
func benchPNGs(b *testing.B) []struct {
	name string
	data []byte
} {
	b.Helper()
	enc := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			b.Fatal(err)
		}
		return buf.Bytes()
	}
	sticker := samplepic.Photo(1600, 1200, 7)
	nrgba := image.NewNRGBA(sticker.Rect)
	draw.Draw(nrgba, nrgba.Rect, sticker, image.Point{}, draw.Src)
	for i := 3; i < len(nrgba.Pix); i += 4 {
		x, y := i/4%1600, i/4/1600
		if (x-800)*(x-800)+(y-600)*(y-600) > 600*600 {
			nrgba.Pix[i] = 0
		}
	}
	photo := samplepic.Photo(4000, 3000, 2024)
	rgba64 := image.NewNRGBA64(photo.Rect)
	for y := range 3000 {
		for x := range 4000 {
			c := photo.RGBAAt(x, y)
			rgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, uint16(x * 16)})
		}
	}
	pal := image.NewPaletted(photo.Rect, palette.Plan9)
	draw.Draw(pal, pal.Rect, photo, image.Point{}, draw.Src)
	return []struct {
		name string
		data []byte
	}{
		{"1600x1200-rgba", enc(nrgba)},
		{"4000x3000-rgb", enc(photo)},
		{"4000x3000-rgba16", enc(rgba64)},
		{"4000x3000-palette", enc(pal)},
	}
}

// BenchmarkDecode compares a reduced decode at the scale a 128-pixel
// avatar needs with image/png's full decode of the same bytes.
func BenchmarkDecode(b *testing.B) {
	for _, p := range benchPNGs(b) {
		cfg, err := png.DecodeConfig(bytes.NewReader(p.data))
		if err != nil {
			b.Fatal(err)
		}
		k := pngscale.Scale(min(cfg.Width, cfg.Height), 256)
		b.Run(fmt.Sprintf("%s/pngscale-1of%d", p.name, k), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.data)))
			for b.Loop() {
				if _, err := pngscale.Decode(p.data, k, 1<<25); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(p.name+"/image-png", func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(p.data)))
			for b.Loop() {
				if _, err := png.Decode(bytes.NewReader(p.data)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
