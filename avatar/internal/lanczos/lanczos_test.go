package lanczos

import (
	"fmt"
	"image"
	"image/color"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/disintegration/imaging"
)

// photo is a smooth picture with noise and a hard-edged disc: the edges
// make the kernel's lobes overshoot, so clamping is exercised too.
func photo(w, h int, seed uint64) *image.NRGBA {
	rng := rand.New(rand.NewPCG(seed, 1))
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			fx, fy := float64(x)/float64(w), float64(y)/float64(h)
			r := 60 + 150*fy + 30*math.Sin(fx*9)
			g := 90 + 100*(1-fy)
			b := 140 + 90*fx
			if math.Hypot(fx-0.6, fy-0.45) < 0.2 {
				r, g, b = 255, 250, 5
			}
			n := rng.NormFloat64() * 12
			img.SetNRGBA(x, y, color.NRGBA{clamp(r + n), clamp(g - n), clamp(b + n), 255})
		}
	}
	return img
}

func clamp(v float64) uint8 { return uint8(max(0, min(255, math.Round(v)))) }

func toYCbCr(src *image.NRGBA, ratio image.YCbCrSubsampleRatio) *image.YCbCr {
	yc := image.NewYCbCr(src.Rect, ratio)
	for y := range src.Rect.Dy() {
		for x := range src.Rect.Dx() {
			c := src.NRGBAAt(x, y)
			yy, cb, cr := color.RGBToYCbCr(c.R, c.G, c.B)
			yc.Y[yc.YOffset(x, y)] = yy
			yc.Cb[yc.COffset(x, y)] = cb
			yc.Cr[yc.COffset(x, y)] = cr
		}
	}
	return yc
}

// compare resizes src both ways and reports the largest and the mean
// difference per channel.
func compare(t *testing.T, src image.Image, w, h int) (worst int, mean float64) {
	t.Helper()
	got, ok := Resize(src, w, h)
	if !ok {
		t.Fatalf("%T not read", src)
	}
	want := imaging.Resize(src, w, h, imaging.Lanczos)
	if got.Rect != want.Rect {
		t.Fatalf("bounds %v, imaging %v", got.Rect, want.Rect)
	}
	var sum int
	for i := range got.Pix {
		if i%4 == 3 {
			if got.Pix[i] != 0xff {
				t.Fatalf("alpha %d at %d, want opaque", got.Pix[i], i)
			}
			continue
		}
		d := int(got.Pix[i]) - int(want.Pix[i])
		d = max(d, -d)
		worst = max(worst, d)
		sum += d
	}
	return worst, float64(sum) / float64(len(got.Pix)*3/4)
}

// TestMatchesImaging holds the fixed-point resampler to imaging's: at
// most one level apart anywhere (the two roundings between the passes
// can each land on the other side), and nearly always equal.
func TestMatchesImaging(t *testing.T) {
	base := photo(320, 240, 7)
	cases := []struct {
		name string
		src  image.Image
		w, h int
	}{
		{"avatar from a 1/4-scale JPEG", base.SubImage(image.Rect(40, 0, 280, 240)), 128, 128},
		{"non-square", base, 128, 96},
		{"upscale", base.SubImage(image.Rect(0, 0, 100, 90)), 128, 128},
		{"width unchanged", base, 320, 100},
		{"height unchanged", base, 100, 240},
		{"both unchanged", base, 320, 240},
		{"to one pixel", base, 1, 1},
		{"from one pixel", base.SubImage(image.Rect(5, 5, 6, 6)), 64, 64},
		{"narrower than the kernel", base.SubImage(image.Rect(10, 10, 13, 15)), 128, 128},
		{"a large factor", base, 7, 5},
		{"odd offset", base.SubImage(image.Rect(33, 17, 301, 239)), 128, 128},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			worst, mean := compare(t, tc.src, tc.w, tc.h)
			t.Logf("up to %d levels apart, %.4f on average", worst, mean)
			if worst > 1 || mean > 0.02 {
				t.Errorf("differs from imaging by up to %d levels, %.4f on average; want <= 1 and <= 0.02", worst, mean)
			}
		})
	}
}

func TestReadsEveryOpaqueKind(t *testing.T) {
	base := photo(160, 120, 3)
	crop := image.Rect(21, 13, 141, 119)
	rgba := image.NewRGBA(base.Rect)
	copy(rgba.Pix, base.Pix)
	gray := image.NewGray(base.Rect)
	for i := range gray.Pix {
		gray.Pix[i] = base.Pix[4*i+1]
	}
	srcs := map[string]image.Image{
		"NRGBA": base.SubImage(crop),
		"RGBA":  rgba.SubImage(crop),
		"Gray":  gray.SubImage(crop),
	}
	for _, r := range []image.YCbCrSubsampleRatio{
		image.YCbCrSubsampleRatio444, image.YCbCrSubsampleRatio422, image.YCbCrSubsampleRatio420,
		image.YCbCrSubsampleRatio440, image.YCbCrSubsampleRatio411, image.YCbCrSubsampleRatio410,
	} {
		srcs["YCbCr "+r.String()] = toYCbCr(base, r).SubImage(crop)
	}
	for name, src := range srcs {
		t.Run(name, func(t *testing.T) {
			worst, mean := compare(t, src, 64, 64)
			if worst > 1 || mean > 0.02 {
				t.Errorf("differs from imaging by up to %d levels, %.4f on average; want <= 1 and <= 0.02", worst, mean)
			}
		})
	}
}

func TestFlatStaysFlat(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 301, 233))
	for i := range img.Pix {
		img.Pix[i] = []byte{200, 17, 99, 255}[i%4]
	}
	got, _ := Resize(img, 128, 128)
	for i, v := range got.Pix {
		if want := img.Pix[i%4]; v != want {
			t.Fatalf("byte %d is %d, want %d: the weights do not sum to one", i, v, want)
		}
	}
}

func TestRefuses(t *testing.T) {
	if _, ok := Resize(image.NewPaletted(image.Rect(0, 0, 8, 8), nil), 4, 4); ok {
		t.Error("a paletted picture was read")
	}
	if _, ok := Resize(image.NewNRGBA(image.Rect(0, 0, 8, 8)), 0, 4); ok {
		t.Error("a width of 0 was accepted")
	}
	if _, ok := Resize(image.NewNRGBA(image.Rect(0, 0, 0, 8)), 4, 4); ok {
		t.Error("an empty picture was accepted")
	}
}

func BenchmarkResize(b *testing.B) {
	base := photo(320, 240, 7)
	crop := image.Rect(40, 0, 280, 240)
	srcs := []struct {
		name string
		img  image.Image
	}{
		{"NRGBA", base.SubImage(crop)},
		{"YCbCr420", toYCbCr(base, image.YCbCrSubsampleRatio420).SubImage(crop)},
	}
	for _, s := range srcs {
		for _, impl := range []string{"lanczos", "imaging"} {
			b.Run(fmt.Sprintf("%s/240to128/%s", s.name, impl), func(b *testing.B) {
				for b.Loop() {
					if impl == "lanczos" {
						Resize(s.img, 128, 128)
					} else {
						imaging.Resize(s.img, 128, 128, imaging.Lanczos)
					}
				}
			})
		}
	}
}
