package jpegscale_test

import (
	"bytes"
	"errors"
	"image"
	"image/jpeg"
	"os"
	"path/filepath"
	"testing"

	"mmsprofile/avatar/internal/jpegscale"
)

// FuzzDecode feeds Decode arbitrary bytes at every scale: it must never
// panic, must refuse with one of its sentinels, and otherwise return a
// picture of the promised size whose every pixel can be read. Plain
// go test runs the seeds: the small copies of each kind of test picture
// (the fuzzer mutates and minimises small inputs much faster), those of
// avatar/testdata, and their first halves.
func FuzzDecode(f *testing.F) {
	var files []string
	for _, glob := range []string{"testdata/small/*.jpg", "../../testdata/*.jpg"} {
		m, err := filepath.Glob(glob)
		if err != nil {
			f.Fatal(err)
		}
		files = append(files, m...)
	}
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
		f.Add(b[:len(b)/2])
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// The caller checks the header's size before decoding; so does
		// this, by the crude rule of any SOF-like bytes, to keep the
		// fuzzer on the parser and off memory.
		if !small(data) {
			return
		}
		// image/jpeg finds the same frame header, if it finds one.
		cfg, cfgErr := jpeg.DecodeConfig(bytes.NewReader(data))
		for _, scale := range []int{2, 4, 8} {
			img, err := jpegscale.Decode(data, scale)
			if err != nil {
				if !errors.Is(err, jpegscale.ErrUnsupported) && !errors.Is(err, jpegscale.ErrCorrupt) {
					t.Fatalf("1/%d: error matches no sentinel: %v", scale, err)
				}
				continue
			}
			b := img.Bounds()
			want := image.Rect(0, 0, (cfg.Width+scale-1)/scale, (cfg.Height+scale-1)/scale)
			if cfgErr == nil && b != want || b.Min != (image.Point{}) || b.Empty() {
				t.Fatalf("1/%d: %v, image/jpeg says %dx%d", scale, b, cfg.Width, cfg.Height)
			}
			for y := range b.Dy() {
				for x := range b.Dx() {
					img.At(x, y).RGBA()
				}
			}
		}
	})
}

// small reports whether no SOF-like bytes in data claim more than 64K
// pixels.
func small(data []byte) bool {
	for i := 0; i+9 <= len(data); i++ {
		if data[i] == 0xff && data[i+1]&0xf0 == 0xc0 {
			if h, w := int(data[i+5])<<8|int(data[i+6]), int(data[i+7])<<8|int(data[i+8]); h*w > 1<<16 {
				return false
			}
		}
	}
	return true
}
