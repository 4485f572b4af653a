package avatar

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"testing"

	"github.com/disintegration/imaging"

	"mmsprofile/avatar/internal/samplepic"
)

// TestBoxShrinkMatchesLanczos checks that the fast path for big YCbCr
// pictures looks like a plain Lanczos resize of the same crop.
func TestBoxShrinkMatchesLanczos(t *testing.T) {
	for _, ratio := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		t.Run(ratio.String(), func(t *testing.T) {
			src := samplepic.Photo(1203, 901, 11)
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
			fast := square(yc, true, 64)
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

// TestScaledJPEGMatchesFullDecode checks that decoding a photo at a DCT
// scale gives about the avatar a full-size Lanczos resize gives, for each
// scale the sizes pick, crop and fit. The bounds are what libvips' own
// shrink-on-load reaches on the same photo (mean 0.2-1.7 levels, worst
// 2-52 at saturated colour edges, where averaging before the conversion to
// RGB differs from clipping each pixel first).
func TestScaledJPEGMatchesFullDecode(t *testing.T) {
	const w, h = 1200, 900
	photo := encodeJPEG(t, samplepic.Photo(w, h, 5), 90)
	cfg := image.Config{Width: w, Height: h}
	full, err := decode(formatJPEG, photo, cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		size  int
		crop  bool
		scale int // what the size should pick: 1.5 times the size left
	}{
		{size: 48, crop: true, scale: 8},
		{size: 96, crop: true, scale: 4},
		{size: 128, crop: true, scale: 4},
		{size: 200, crop: true, scale: 2},
		{size: 128, crop: false, scale: 4},
		{size: 700, crop: true, scale: 1},
	} {
		t.Run(fmt.Sprintf("%d-crop-%v", tc.size, tc.crop), func(t *testing.T) {
			img, err := decodeFor(formatJPEG, photo, cfg, tc.size, tc.crop)
			if err != nil {
				t.Fatal(err)
			}
			if got, want := img.Bounds().Dx(), (w+tc.scale-1)/tc.scale; got != want {
				t.Fatalf("decoded %d wide, want %d (scale 1/%d)", got, want, tc.scale)
			}
			var got, ref *image.NRGBA
			if tc.crop {
				got = square(img, opaque(img), tc.size)
				x0 := (w - h) / 2
				ref = imaging.Resize(full.(*image.YCbCr).SubImage(image.Rect(x0, 0, x0+h, h)), tc.size, tc.size, imaging.Lanczos)
			} else {
				got = fit(img, opaque(img), tc.size)
				ref = imaging.Resize(full, tc.size, tc.size*h/w, imaging.Lanczos)
			}
			if got.Bounds() != ref.Bounds() {
				t.Fatalf("bounds %v, want %v", got.Bounds(), ref.Bounds())
			}
			var sum, worst float64
			for i := range got.Pix {
				d := math.Abs(float64(got.Pix[i]) - float64(ref.Pix[i]))
				sum += d
				worst = max(worst, d)
			}
			mean := sum / float64(len(got.Pix))
			t.Logf("mean %.2f, worst %.0f levels off a full-size resize", mean, worst)
			if mean > 1.2 || worst > 32 {
				t.Errorf("mean difference %.2f (want <= 1.2), worst %.0f (want <= 32)", mean, worst)
			}
		})
	}
}
