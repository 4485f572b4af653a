package samplepic

import (
	"bytes"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/png"
)

// A PNG is one of the pictures BenchPNGs encodes.
type PNG struct {
	Name string
	Data []byte
}

// BenchPNGs encodes the pictures issue 19 names: a 1600x1200 RGBA
// sticker (as scripts/bench-avatar.sh uses), and 12 MP photos as 8-bit
// RGB, 16-bit RGBA and a 256-colour palette. Both pngscale's and
// inflate's benchmarks measure them.
func BenchPNGs() ([]PNG, error) {
	sticker := Photo(1600, 1200, 7)
	nrgba := image.NewNRGBA(sticker.Rect)
	draw.Draw(nrgba, nrgba.Rect, sticker, image.Point{}, draw.Src)
	for i := 3; i < len(nrgba.Pix); i += 4 {
		x, y := i/4%1600, i/4/1600
		if (x-800)*(x-800)+(y-600)*(y-600) > 600*600 {
			nrgba.Pix[i] = 0
		}
	}
	photo := Photo(4000, 3000, 2024)
	rgba64 := image.NewNRGBA64(photo.Rect)
	for y := range 3000 {
		for x := range 4000 {
			c := photo.RGBAAt(x, y)
			rgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, uint16(x * 16)})
		}
	}
	pal := image.NewPaletted(photo.Rect, palette.Plan9)
	draw.Draw(pal, pal.Rect, photo, image.Point{}, draw.Src)
	pics := []PNG{{Name: "1600x1200-rgba"}, {Name: "4000x3000-rgb"}, {Name: "4000x3000-rgba16"}, {Name: "4000x3000-palette"}}
	for i, img := range []image.Image{nrgba, photo, rgba64, pal} {
		var b bytes.Buffer
		if err := png.Encode(&b, img); err != nil {
			return nil, err
		}
		pics[i].Data = b.Bytes()
	}
	return pics, nil
}
