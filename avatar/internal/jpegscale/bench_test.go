package jpegscale_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"mmsprofile/avatar/internal/jpegscale"
)

// photoLike draws a deterministic camera-like picture: smooth gradients,
// soft-edged discs and sensor noise, so that the coefficients and the
// Huffman data look like a phone photo's.
func photoLike(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type disc struct {
		x, y, r float64
		c       [3]float64
	}
	discs := make([]disc, 6)
	for i := range discs {
		discs[i] = disc{
			x: rng.Float64() * float64(w), y: rng.Float64() * float64(h),
			r: (0.05 + 0.2*rng.Float64()) * float64(min(w, h)),
			c: [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255},
		}
	}
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			fx := float64(x) / float64(w)
			c := [3]float64{40 + 180*fx, 60 + 120*fy, 200 - 150*fx*fy}
			for _, d := range discs {
				dx, dy := float64(x)-d.x, float64(y)-d.y
				if t := 1 - math.Sqrt(dx*dx+dy*dy)/d.r; t > 0 {
					t = min(1, 3*t)
					for k := range 3 {
						c[k] = c[k]*(1-t) + d.c[k]*t
					}
				}
			}
			n := rng.NormFloat64() * 6
			i := img.PixOffset(x, y)
			for k := range 3 {
				img.Pix[i+k] = uint8(max(0, min(255, c[k]+n)))
			}
			img.Pix[i+3] = 0xff
		}
	}
	return img
}

// progressiveJPEG re-encodes a picture as a progressive JPEG with
// ImageMagick, or returns nil when it is not installed.
func progressiveJPEG(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	convert, err := exec.LookPath("convert")
	if err != nil {
		return nil
	}
	dir := tb.TempDir()
	in, out := filepath.Join(dir, "in.ppm"), filepath.Join(dir, "out.jpg")
	var ppm bytes.Buffer
	b := img.Bounds()
	fmt.Fprintf(&ppm, "P6\n%d %d\n255\n", b.Dx(), b.Dy())
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			ppm.Write([]byte{byte(r >> 8), byte(g >> 8), byte(bl >> 8)})
		}
	}
	if err := os.WriteFile(in, ppm.Bytes(), 0o644); err != nil {
		tb.Fatal(err)
	}
	if msg, err := exec.Command(convert, in, "-interlace", "JPEG", "-quality", "90", out).CombinedOutput(); err != nil {
		tb.Logf("convert: %v: %s", err, msg)
		return nil
	}
	data, err := os.ReadFile(out)
	if err != nil {
		tb.Fatal(err)
	}
	return data
}

// BenchmarkDecode compares a reduced decode at the scale a 128-pixel
// avatar needs with image/jpeg's full decode of the same bytes.
func BenchmarkDecode(b *testing.B) {
	for _, size := range []struct{ w, h int }{{1280, 960}, {4000, 3000}} {
		img := photoLike(size.w, size.h, 2024)
		var base bytes.Buffer
		if err := jpeg.Encode(&base, img, &jpeg.Options{Quality: 90}); err != nil {
			b.Fatal(err)
		}
		scale := jpegscale.Scale(min(size.w, size.h), 128)
		kinds := []struct {
			name string
			data []byte
		}{{"baseline", base.Bytes()}, {"progressive", progressiveJPEG(b, img)}}
		for _, kind := range kinds {
			name := fmt.Sprintf("%dx%d/%s", size.w, size.h, kind.name)
			b.Run(name+"/jpegscale", func(b *testing.B) {
				if kind.data == nil {
					b.Skip("no ImageMagick to make a progressive JPEG")
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(kind.data)))
				for b.Loop() {
					if _, err := jpegscale.Decode(kind.data, scale); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run(name+"/image-jpeg", func(b *testing.B) {
				if kind.data == nil {
					b.Skip("no ImageMagick to make a progressive JPEG")
				}
				b.ReportAllocs()
				b.SetBytes(int64(len(kind.data)))
				for b.Loop() {
					if _, err := jpeg.Decode(bytes.NewReader(kind.data)); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}
