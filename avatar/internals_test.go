package avatar

import (
	"image"
	"image/color"
	"testing"

	"github.com/disintegration/imaging"
)

// TestBoxShrinkMatchesLanczos checks that the fast path for big YCbCr
// pictures looks like a plain Lanczos resize of the same crop.
func TestBoxShrinkMatchesLanczos(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		t.Run(ratio.String(), func(t *testing.T) {
			src := photoLike(1203, 901, 11)
			yc := image.NewYCbCr(src.Bounds(), ratio)
			for y := range src.Rect.Dy() {
				for x := range src.Rect.Dx() {
					c := src.RGBAAt(x, y)
					yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
					yc.Y[yc.YOffset(x, y)] = yy
					// Subsampled chroma: the last pixel written wins, which
					// is all this comparison needs.
					yc.Cb[yc.COffset(x, y)] = cb
					yc.Cr[yc.COffset(x, y)] = cr
				}
			}
			fast := square(yc, 64)
			side := 901
			x0 := (1203 - side) / 2
			slow := imaging.Resize(yc.SubImage(image.Rect(x0, 0, x0+side, side)), 64, 64, imaging.Lanczos)
			var sum, n float64
			for i := range fast.Pix {
				d := float64(fast.Pix[i]) - float64(slow.Pix[i])
				sum += max(d, -d)
				n++
			}
			if mean := sum / n; mean > 2.5 {
				t.Errorf("mean difference %.2f levels, want <= 2.5", mean)
			}
		})
	}
}

func TestQuantizeExactForFewColours(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 40, 30))
	colours := []color.NRGBA{{0, 0, 0, 0}, {255, 0, 0, 255}, {0, 255, 0, 128}, {1, 2, 3, 255}, {250, 250, 250, 255}}
	for y := range 30 {
		for x := range 40 {
			img.SetNRGBA(x, y, colours[(x*7+y*3)%len(colours)])
		}
	}
	p := quantize(img, 256)
	if len(p.Palette) != len(colours) {
		t.Errorf("palette has %d colours, want %d", len(p.Palette), len(colours))
	}
	for y := range 30 {
		for x := range 40 {
			if got := color.NRGBAModel.Convert(p.At(x, y)); got != img.NRGBAAt(x, y) {
				t.Fatalf("pixel %d,%d = %v, want %v", x, y, got, img.NRGBAAt(x, y))
			}
		}
	}
}

func TestQuantizeManyColours(t *testing.T) {
	img := noise(64, 64, 3)
	p := quantize(img, 256)
	if len(p.Palette) != 256 {
		t.Errorf("palette has %d colours, want 256", len(p.Palette))
	}
}
