package jpegscale_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"mmsprofile/avatar/internal/jpegscale"
	"mmsprofile/avatar/internal/samplepic"
)

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
		img := samplepic.Photo(size.w, size.h, 2024)
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
