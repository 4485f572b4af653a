package avatar

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/gif"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/image/bmp"

	"mmsprofile/avatar/internal/samplepic"
)

// checkAvatar asserts what every result must be: a PNG of side x side within
// the budget, named by its SHA-1. It returns the decoded picture.
func checkAvatar(t *testing.T, s Standard, got Image, side int) *image.NRGBA {
	t.Helper()
	s = s.withDefaults()
	if got.Type != "image/png" {
		t.Errorf("Type = %q, want image/png", got.Type)
	}
	sum := sha1.Sum(got.Data)
	if got.ID != hex.EncodeToString(sum[:]) {
		t.Errorf("ID = %s, want SHA-1 of Data %x", got.ID, sum)
	}
	if len(got.Data) > s.MaxBytes {
		t.Errorf("%d bytes, budget %d", len(got.Data), s.MaxBytes)
	}
	img, err := png.Decode(bytes.NewReader(got.Data))
	if err != nil {
		t.Fatalf("output is no PNG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != side || b.Dy() != side || got.Width != side || got.Height != side {
		t.Fatalf("output %dx%d (Image says %dx%d), want %dx%d", b.Dx(), b.Dy(), got.Width, got.Height, side, side)
	}
	return toNRGBA(img)
}

// toNRGBA copies a decoded picture into NRGBA, the form the checks read.
func toNRGBA(img image.Image) *image.NRGBA {
	b := img.Bounds()
	out := image.NewNRGBA(b)
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

func TestMakeShapes(t *testing.T) {
	file := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	gifOf := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := gif.Encode(&buf, img, nil); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	bmpOf := func(img image.Image) []byte {
		var buf bytes.Buffer
		if err := bmp.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		return buf.Bytes()
	}
	gray := image.NewGray(image.Rect(0, 0, 300, 200))
	for i := range gray.Pix {
		gray.Pix[i] = uint8(i)
	}
	tests := []struct {
		name string
		in   []byte
		std  Standard
	}{
		{"landscape jpeg", encodeJPEG(t, samplepic.Photo(640, 480, 1), 90), Standard{}},
		{"portrait jpeg", encodeJPEG(t, samplepic.Photo(480, 640, 2), 90), Standard{}},
		{"camera jpeg 4:3 large", encodeJPEG(t, samplepic.Photo(1600, 1200, 3), 85), Standard{}},
		{"grey jpeg", encodeJPEG(t, gray, 90), Standard{}},
		{"strip 1000x1 png", encodePNGTest(t, samplepic.Photo(1000, 1, 4)), Standard{MinSide: 1, MinDetail: -1}},
		{"tiny 1x1 png", encodePNGTest(t, samplepic.Photo(1, 1, 5)), Standard{MinSide: 1, MinDetail: -1}},
		{"already 128x128 png", encodePNGTest(t, samplepic.Photo(128, 128, 6)), Standard{}},
		{"gif", gifOf(samplepic.Photo(200, 150, 7)), Standard{}},
		{"bmp", bmpOf(samplepic.Photo(150, 200, 8)), Standard{}},
		{"webp lossy", file("photo.webp"), Standard{}},
		{"progressive jpeg", file("progressive.jpg"), Standard{}},
		{"cmyk jpeg", file("cmyk.jpg"), Standard{}},
		{"webp lossless alpha", file("alpha-lossless.webp"), Standard{}},
		{"webp lossy alpha", file("alpha-lossy.webp"), Standard{}},
		{"size 64", encodeJPEG(t, samplepic.Photo(640, 480, 9), 90), Standard{Size: 64}},
		{"size 512", encodeJPEG(t, samplepic.Photo(640, 480, 10), 90), Standard{Size: 512, MaxBytes: 1 << 20}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.std.Make(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			checkAvatar(t, tt.std, got, tt.std.withDefaults().Size)
		})
	}
}

// TestCropKeepsCentre checks that the crop is centred: on a wide picture
// the left and right bands are dropped, on a tall one the top and bottom.
func TestCropKeepsCentre(t *testing.T) {
	band := func(w, h int, wide bool) image.Image {
		img := image.NewNRGBA(image.Rect(0, 0, w, h))
		red, white := color.NRGBA{255, 0, 0, 255}, color.NRGBA{255, 255, 255, 255}
		for y := range h {
			for x := range w {
				c := white
				if (wide && (x < w/4 || x >= w-w/4)) || (!wide && (y < h/4 || y >= h-h/4)) {
					c = red
				}
				img.SetNRGBA(x, y, c)
			}
		}
		return img
	}
	for _, tt := range []struct {
		name string
		img  image.Image
	}{
		{"wide", band(400, 200, true)},
		{"tall", band(200, 400, false)},
	} {
		t.Run(tt.name, func(t *testing.T) {
			// All white once cropped, which is what is checked.
			std := Standard{MinDetail: -1}
			got, err := std.Make(context.Background(), encodePNGTest(t, tt.img))
			if err != nil {
				t.Fatal(err)
			}
			out := checkAvatar(t, std, got, 128)
			for _, p := range []image.Point{{2, 2}, {125, 2}, {64, 64}, {2, 125}, {125, 125}} {
				if c := out.NRGBAAt(p.X, p.Y); !near(c, color.NRGBA{255, 255, 255, 255}, 8) {
					t.Errorf("pixel %v = %v, want white: the red bands should be cropped away", p, c)
				}
			}
		})
	}
}

// TestOrientation writes each of the 8 EXIF orientations the way a camera
// would (pixels stored turned, the tag saying how to show them), from the
// EXIF table of where stored row 0 and column 0 belong, and checks that the
// avatar shows the picture upright.
//
// The larger picture takes a DCT scale (jpegscale, in both backends), the
// smaller one a whole decode.
func TestOrientation(t *testing.T) {
	for _, d := range []struct{ dw, dh int }{{96, 64}, {768, 512}} {
		testOrientation(t, d.dw, d.dh)
	}
}

func testOrientation(t *testing.T, dw, dh int) {
	for o := 1; o <= 8; o++ {
		for _, bo := range []binary.ByteOrder{binary.BigEndian, binary.LittleEndian} {
			t.Run(fmt.Sprintf("%dx%d/%d/%s", dw, dh, o, bo), func(t *testing.T) {
				stored := storedAs(o, dw, dh, func(x, y int) color.NRGBA { return quadrantAt(x, y, dw, dh) })
				in := withSegments(encodeJPEG(t, stored, 95), exifSegment(o, bo, "orientation test"))
				if got := exifOrientation(in); got != o {
					t.Fatalf("exifOrientation = %d, want %d", got, o)
				}
				std := Standard{Size: 64}
				got, err := std.Make(context.Background(), in)
				if err != nil {
					t.Fatal(err)
				}
				out := checkAvatar(t, std, got, 64)
				for _, p := range []image.Point{{12, 12}, {52, 12}, {12, 52}, {52, 52}} {
					want := quadrantAt(p.X, p.Y, 64, 64)
					if c := out.NRGBAAt(p.X, p.Y); !near(c, want, 40) {
						t.Errorf("pixel %v = %v, want %v", p, c, want)
					}
				}
			})
		}
	}
}

func TestExifOrientationHostile(t *testing.T) {
	base := encodeJPEG(t, samplepic.Photo(8, 8, 1), 90)
	good := exifSegment(6, binary.BigEndian, "x")
	for _, tt := range []struct {
		name string
		in   []byte
		want int
	}{
		{"none", base, 1},
		{"good", withSegments(base, good), 6},
		{"after COM", withSegments(base, comSegment("hello"), good), 6},
		{"cut segment", withSegments(base, good[:20]), 1},
		{"bad byte order", withSegments(base, bytes.Replace(good, []byte("MM\x00*"), []byte("XX\x00*"), 1)), 1},
		{"value 9", withSegments(base, exifSegment(9, binary.LittleEndian, "x")), 1},
		{"value 0", withSegments(base, exifSegment(0, binary.LittleEndian, "x")), 1},
		{"only SOI", []byte{0xff, 0xd8}, 1},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := exifOrientation(tt.in); got != tt.want {
				t.Errorf("exifOrientation = %d, want %d", got, tt.want)
			}
		})
	}
	// Every prefix must be safe to read.
	in := withSegments(base, good)
	for n := range len(in) {
		exifOrientation(in[:n])
	}
}

func TestTransparencyKept(t *testing.T) {
	half := image.NewNRGBA(image.Rect(0, 0, 200, 200))
	for y := range 200 {
		for x := 100; x < 200; x++ {
			half.SetNRGBA(x, y, color.NRGBA{0, 0, 200, 255})
		}
	}
	pal := image.NewPaletted(image.Rect(0, 0, 200, 200), color.Palette{color.NRGBA{}, color.NRGBA{0, 0, 200, 255}})
	for y := range 200 {
		for x := 100; x < 200; x++ {
			pal.SetColorIndex(x, y, 1)
		}
	}
	var g bytes.Buffer
	if err := gif.Encode(&g, pal, nil); err != nil {
		t.Fatal(err)
	}
	// A first frame covering only the right half of the logical screen.
	frame := image.NewPaletted(image.Rect(100, 0, 200, 200), color.Palette{color.NRGBA{0, 0, 200, 255}})
	var partial bytes.Buffer
	if err := gif.EncodeAll(&partial, &gif.GIF{
		Image:  []*image.Paletted{frame},
		Delay:  []int{0},
		Config: image.Config{ColorModel: frame.Palette, Width: 200, Height: 200},
	}); err != nil {
		t.Fatal(err)
	}
	lossless, err := os.ReadFile("testdata/alpha-lossless.webp")
	if err != nil {
		t.Fatal(err)
	}
	lossy, err := os.ReadFile("testdata/alpha-lossy.webp")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		in   []byte
	}{
		{"png", encodePNGTest(t, half)},
		{"gif", g.Bytes()},
		{"gif partial first frame", partial.Bytes()},
		{"webp lossless", lossless},
		{"webp lossy", lossy},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Standard{}.Make(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			out := checkAvatar(t, Standard{}, got, 128)
			if a := out.NRGBAAt(10, 64).A; a != 0 {
				t.Errorf("left alpha = %d, want 0", a)
			}
			if a := out.NRGBAAt(118, 64).A; a != 255 {
				t.Errorf("right alpha = %d, want 255", a)
			}
		})
	}
}

// TestJPEGOpaque checks that a JPEG gives an RGB PNG: an alpha channel
// would cost a quarter more bytes for nothing.
func TestJPEGOpaque(t *testing.T) {
	got, err := Standard{}.Make(context.Background(), encodeJPEG(t, samplepic.Photo(300, 200, 3), 90))
	if err != nil {
		t.Fatal(err)
	}
	// IHDR colour type, byte 25: 2 is RGB, 3 palette, 6 RGBA.
	if ct := got.Data[25]; ct != 2 && ct != 3 {
		t.Errorf("PNG colour type %d, want 2 (RGB) or 3 (palette)", ct)
	}
}

// TestMetadataStripped checks the privacy promise: nothing but pixels is
// carried over, so neither GPS nor any text of the input reaches XMPP.
func TestMetadataStripped(t *testing.T) {
	const secret = "GPS 48.858370N 2.294481E secret-place"
	jpg := withSegments(encodeJPEG(t, samplepic.Photo(320, 240, 1), 90),
		exifSegment(1, binary.LittleEndian, secret), comSegment("comment "+secret))
	p := encodePNGTest(t, samplepic.Photo(320, 240, 2))
	p = withPNGChunk(p, "tEXt", []byte("Comment\x00"+secret))
	p = withPNGChunk(p, "iTXt", []byte("Location\x00\x00\x00\x00\x00"+secret))
	p = withPNGChunk(p, "eXIf", exifSegment(1, binary.BigEndian, secret)[10:])
	for _, tt := range []struct {
		name string
		in   []byte
	}{{"jpeg", jpg}, {"png", p}} {
		t.Run(tt.name, func(t *testing.T) {
			if !bytes.Contains(tt.in, []byte(secret)) {
				t.Fatal("test input lacks the secret")
			}
			got, err := Standard{}.Make(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range []string{secret, "secret", "GPS", "Exif", "N\x00\x00\x00"} {
				if bytes.Contains(got.Data, []byte(s)) {
					t.Errorf("output contains %q", s)
				}
			}
			// Only the chunks a bare picture needs may appear.
			for i := 8; i+8 <= len(got.Data); {
				n := int(binary.BigEndian.Uint32(got.Data[i:]))
				switch typ := string(got.Data[i+4 : i+8]); typ {
				case "IHDR", "PLTE", "tRNS", "IDAT", "IEND":
				default:
					t.Errorf("output has a %s chunk", typ)
				}
				i += 12 + n
			}
		})
	}
}

func TestNoiseWithinBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("2000x2000 noise takes a second")
	}
	img := noise(2000, 2000, 42)
	// Lossless noise is 12 MB, over the default input limit.
	const big = 16 << 20
	inPNG, inJPEG := encodePNGTest(t, img), encodeJPEG(t, img, 100)
	for _, tt := range []struct {
		name     string
		in       []byte
		std      Standard
		wantSide int // 0: smaller than Size is allowed
	}{
		{"png 128", inPNG, Standard{Size: 128, MaxBytes: 65536, MaxInputBytes: big}, 128},
		{"jpeg 128", inJPEG, Standard{Size: 128, MaxBytes: 65536}, 128},
		{"png 512", inPNG, Standard{Size: 512, MaxBytes: 65536, MaxInputBytes: big}, 0},
		{"jpeg 512", inJPEG, Standard{Size: 512, MaxBytes: 65536}, 0},
		{"png 128 budget 8k", inPNG, Standard{Size: 128, MaxBytes: 8192, MaxInputBytes: big}, 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.std.Make(context.Background(), tt.in)
			if err != nil {
				t.Fatal(err)
			}
			side := tt.wantSide
			if side == 0 {
				side = got.Width
				if side > tt.std.Size || side < minSide {
					t.Fatalf("side %d, want %d..%d", side, minSide, tt.std.Size)
				}
			}
			checkAvatar(t, tt.std, got, side)
			t.Logf("size %d budget %d: %dx%d, %d bytes", tt.std.Size, tt.std.MaxBytes, got.Width, got.Height, len(got.Data))
		})
	}
}

func TestHostile(t *testing.T) {
	read := func(name string) []byte {
		b, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	jpg := encodeJPEG(t, samplepic.Photo(320, 240, 1), 90)
	p := encodePNGTest(t, samplepic.Photo(64, 64, 1))
	badCRC := bytes.Clone(p)
	badCRC[len(badCRC)-20] ^= 0xff
	wide := encodePNGTest(t, image.NewGray(image.Rect(0, 0, 10001, 1)))
	pal := image.NewPaletted(image.Rect(0, 0, 4, 4), palette.Plan9[:4])
	var bm bytes.Buffer
	if err := bmp.Encode(&bm, samplepic.Photo(64, 64, 1)); err != nil {
		t.Fatal(err)
	}
	bmpCut := bm.Bytes()[:bm.Len()/2]

	tests := []struct {
		name string
		in   []byte
		std  Standard
		want error
	}{
		{"zero bytes", nil, Standard{}, ErrEmpty},
		{"empty slice", []byte{}, Standard{}, ErrEmpty},
		{"jpeg header only", jpg[:200], Standard{}, ErrCorrupt},
		{"truncated png", p[:len(p)/2], Standard{}, ErrCorrupt},
		{"png bad crc", badCRC, Standard{}, ErrCorrupt},
		{"text", []byte("Hello, this is my new picture!\r\n"), Standard{}, ErrUnsupported},
		{"html", []byte("<html><body><img src=x></body></html>"), Standard{}, ErrUnsupported},
		{"jpeg bomb 60000x60000", read("bomb-jpeg-60000x60000.jpg"), Standard{}, ErrTooLarge},
		{"png bomb 60000x60000", read("bomb-png-60000x60000.png"), Standard{}, ErrTooLarge},
		{"jpeg bomb, pixel limit only", read("bomb-jpeg-60000x60000.jpg"), Standard{MaxSide: 100000}, ErrTooLarge},
		{"side over MaxSide", wide, Standard{}, ErrTooLarge},
		{"pixels over MaxPixels", p, Standard{MaxPixels: 64*64 - 1}, ErrTooLarge},
		{"input over MaxInputBytes", jpg, Standard{MaxInputBytes: int64(len(jpg) - 1)}, ErrTooLarge},
		{"budget impossible", encodePNGTest(t, pal), Standard{MaxBytes: 40, MinSide: 1, MinDetail: -1}, ErrTooLarge},
		{"tiff", read("tiny.tiff"), Standard{}, ErrUnsupported},
		{"animated webp", read("anim.webp"), Standard{}, ErrUnsupported},
		{"webp cut", read("photo.webp")[:40], Standard{}, ErrCorrupt},
		// x/image/bmp calls an unknown header size unsupported, not invalid.
		{"bmp magic only", []byte("BM this is not a bitmap"), Standard{}, ErrUnsupported},
		{"truncated bmp", bmpCut, Standard{}, ErrCorrupt},
		{"gif magic only", []byte("GIF89a"), Standard{}, ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := tt.std.Make(context.Background(), tt.in)
			runtime.ReadMemStats(&after)
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "avatar: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			t.Logf("%v", err)
			if errors.Is(err, ErrTooLarge) && tt.name != "budget impossible" {
				// A refused bomb must cost nothing: the limit is checked on
				// the header, before a decode allocates the picture.
				if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20 {
					t.Errorf("refusing allocated %d bytes", n)
				}
			}
		})
	}
}

func TestCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Standard{}.Make(ctx, encodeJPEG(t, samplepic.Photo(64, 64, 1), 90))
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}

func TestDeterministic(t *testing.T) {
	in := encodeJPEG(t, samplepic.Photo(1600, 1200, 7), 90)
	a, err := Standard{}.Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Standard{}.Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	// The ID doubles as the XEP-0084 item id: a resent MMS must not
	// publish a "new" avatar.
	if a.ID != b.ID {
		t.Errorf("IDs differ: %s, %s", a.ID, b.ID)
	}
}

// TestJPEGVariantColours checks that progressive and CMYK (Adobe, inverted)
// JPEGs come out in the right colours, not just in the right shape: the
// gradient runs from red at the top to blue at the bottom.
func TestJPEGVariantColours(t *testing.T) {
	for _, name := range []string{"progressive.jpg", "cmyk.jpg", "photo.webp"} {
		t.Run(name, func(t *testing.T) {
			in, err := os.ReadFile(filepath.Join("testdata", name))
			if err != nil {
				t.Fatal(err)
			}
			got, err := Standard{}.Make(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			out := checkAvatar(t, Standard{}, got, 128)
			top, bottom := out.NRGBAAt(64, 2), out.NRGBAAt(64, 125)
			// Relative, not absolute: Go converts a CMYK picture without
			// a profile naively, libvips through a press profile that
			// mutes strong colours (blue 40,40,200 becomes 70,65,121).
			// Either way an inverted or swapped channel would fail.
			if int(top.R)-int(top.B) < 80 || int(bottom.B)-int(bottom.R) < 40 {
				t.Errorf("top %v, bottom %v: want red above blue", top, bottom)
			}
		})
	}
}

func TestGIFFirstFrame(t *testing.T) {
	// Left half the frame's colour, right half grey, so it is not blank.
	frame := func(c color.NRGBA) *image.Paletted {
		p := image.NewPaletted(image.Rect(0, 0, 60, 40), color.Palette{c, color.NRGBA{128, 128, 128, 255}})
		for y := range 40 {
			for x := 30; x < 60; x++ {
				p.SetColorIndex(x, y, 1)
			}
		}
		return p
	}
	var g bytes.Buffer
	if err := gif.EncodeAll(&g, &gif.GIF{
		Image: []*image.Paletted{frame(color.NRGBA{200, 0, 0, 255}), frame(color.NRGBA{0, 0, 200, 255})},
		Delay: []int{10, 10},
	}); err != nil {
		t.Fatal(err)
	}
	got, err := Standard{}.Make(context.Background(), g.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	if c := checkAvatar(t, Standard{}, got, 128).NRGBAAt(32, 64); !near(c, color.NRGBA{200, 0, 0, 255}, 2) {
		t.Errorf("left %v, want the first frame's red", c)
	}
}

// A photo cut short in transit (an upload that broke off, an MMSC's size
// limit) still shows what arrived, as libjpeg-based viewers show it.
func TestTruncatedJPEGDecodesWhatArrived(t *testing.T) {
	src := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			src.Set(x, y, color.NRGBA{R: uint8(x), G: 200, B: uint8(y), A: 255})
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, src, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	full := b.Bytes()
	for _, backend := range Backends() {
		cut := full[:len(full)*3/4]
		img, err := Standard{Size: 64, Backend: backend}.Make(context.Background(), cut)
		if err != nil {
			t.Fatalf("%s: a JPEG cut at 3/4 was refused: %v", backend, err)
		}
		dec, err := png.Decode(bytes.NewReader(img.Data))
		if err != nil {
			t.Fatal(err)
		}
		// The top rows arrived: green stays high there.
		if _, g, _, _ := dec.At(32, 4).RGBA(); g>>8 < 150 {
			t.Errorf("%s: top of a truncated picture lost (green %d)", backend, g>>8)
		}
	}
	// Cut before any picture data, there is nothing to show.
	if _, err := (Standard{}).Make(context.Background(), full[:200]); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("header-only JPEG: %v, want ErrCorrupt", err)
	}
}
