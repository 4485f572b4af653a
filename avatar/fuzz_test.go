package avatar

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/gif"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/image/bmp"

	"mmsprofile/avatar/internal/samplepic"
)

// FuzzMake feeds Make arbitrary bytes: it must never panic, and must either
// refuse with one of the sentinels or return a valid avatar.
func FuzzMake(f *testing.F) {
	files, err := filepath.Glob(filepath.Join("testdata", "*.*"))
	if err != nil {
		f.Fatal(err)
	}
	for _, name := range files {
		if filepath.Ext(name) == ".md" {
			continue
		}
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	small := samplepic.Photo(24, 16, 1)
	f.Add(withSegments(encodeJPEG(f, small, 80), exifSegment(6, binary.LittleEndian, "fuzz")))
	f.Add(encodePNGTest(f, small))
	var g, bm bytes.Buffer
	if err := gif.Encode(&g, small, nil); err != nil {
		f.Fatal(err)
	}
	if err := bmp.Encode(&bm, small); err != nil {
		f.Fatal(err)
	}
	f.Add(g.Bytes())
	f.Add(bm.Bytes())

	// Limits small enough that the fuzzer explores parsers, not memory.
	std := Standard{Size: 32, MaxBytes: 8192, MaxPixels: 1 << 20, MaxSide: 4096, MaxInputBytes: 1 << 20, MinSide: 1, MaxFrames: 64}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := std.Make(context.Background(), data)
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooSmall) &&
				!errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrBlank) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if len(got.Data) > std.MaxBytes {
			t.Fatalf("%d bytes over budget", len(got.Data))
		}
		img, err := png.Decode(bytes.NewReader(got.Data))
		if err != nil {
			t.Fatalf("output is no PNG: %v", err)
		}
		if img.Bounds() != image.Rect(0, 0, got.Width, got.Height) || got.Width != got.Height || got.Width > std.Size {
			t.Fatalf("output %v, Image says %dx%d", img.Bounds(), got.Width, got.Height)
		}
	})
}

// heifSeeds are the HEIC and AVIF files of testdata and a crafted grid.
func heifSeeds(f *testing.F) {
	for _, name := range []string{"photo-thumb.heic", "photo-thumb.avif", "quadrants.heic", "quadrants.avif", "narrow-96.heic", "tiny.heic", "grid-3x2.heic"} {
		f.Add(readTestdata(f, name))
	}
	f.Add(heifGrid(4, 5, 64, 64))
}

// FuzzHEIFContainer feeds the Go container code arbitrary bytes: parseHEIF
// must never panic, a thumbnail it finds must come out of extractThumb
// as a HEIF file whose primary picture is that thumbnail, and a grid
// layout readGrid accepts must fit within the tiles it names.
func FuzzHEIFContainer(f *testing.F) {
	heifSeeds(f)
	f.Fuzz(func(t *testing.T, data []byte) {
		info, err := parseHEIF(data)
		if err != nil {
			return
		}
		for _, th := range info.thumbs {
			small, err := info.extractThumb(data, th)
			if err != nil {
				continue
			}
			again, err := parseHEIF(small)
			if err != nil {
				t.Fatalf("extracted thumbnail does not parse: %v", err)
			}
			if w, h := again.raw.size(again.primary); w != th.width || h != th.height {
				t.Fatalf("extracted thumbnail is %dx%d, want %dx%d", w, h, th.width, th.height)
			}
		}
		if g, err := info.readGrid(data); err == nil {
			if len(g.tiles) != g.rows*g.cols || g.width > g.cols*g.tileW || g.height > g.rows*g.tileH || g.width <= 0 || g.height <= 0 {
				t.Fatalf("grid %+v accepted", g)
			}
		}
	})
}

// FuzzHEIFDecode feeds the pure-Go backend's HEIC and AVIF path (the Go
// container code, then the WebAssembly decoders) arbitrary bytes: no
// panic, a sentinel error or a valid avatar.
func FuzzHEIFDecode(f *testing.F) {
	heifSeeds(f)
	std := Standard{Backend: "go", Size: 32, MaxPixels: 1 << 20, MaxSide: 4096, MaxInputBytes: 1 << 20, MinSide: 1}
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := std.Make(context.Background(), data)
		if err != nil {
			if !errors.Is(err, ErrEmpty) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrTooSmall) &&
				!errors.Is(err, ErrUnsupported) && !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrBlank) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if got.Width != got.Height || got.Width > std.Size || got.Width < 1 {
			t.Fatalf("output %dx%d", got.Width, got.Height)
		}
	})
}
