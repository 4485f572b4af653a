package avatar

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"image"
	"image/color"
	"image/jpeg"
	"slices"
	"strings"
	"testing"

	"mmsprofile/avatar/internal/samplepic"
)

// checkRendition asserts what every rendition must be: a side x side JPEG
// named by its SHA-1, holding nothing but the picture. It returns the
// decoded picture.
func checkRendition(t *testing.T, r Rendition, side int) *image.NRGBA {
	t.Helper()
	if r.Type != "image/jpeg" {
		t.Errorf("rendition Type = %q, want image/jpeg", r.Type)
	}
	sum := sha1.Sum(r.Data)
	if r.ID != hex.EncodeToString(sum[:]) {
		t.Errorf("rendition ID = %s, want SHA-1 of Data %x", r.ID, sum)
	}
	checkBareJPEG(t, r.Data)
	img, err := jpeg.Decode(bytes.NewReader(r.Data))
	if err != nil {
		t.Fatalf("rendition is no JPEG: %v", err)
	}
	b := img.Bounds()
	if b.Dx() != side || b.Dy() != side || r.Width != side || r.Height != side {
		t.Fatalf("rendition %dx%d (says %dx%d), want %dx%d", b.Dx(), b.Dy(), r.Width, r.Height, side, side)
	}
	return toNRGBA(img)
}

// checkBareJPEG walks the JPEG's segments up to the scan: only the ones a
// bare picture needs may be there, so no APPn (JFIF, EXIF, XMP, ICC, …)
// and no comment.
func checkBareJPEG(t *testing.T, data []byte) {
	t.Helper()
	if !bytes.HasPrefix(data, []byte{0xff, 0xd8}) {
		t.Fatal("no SOI")
	}
	for i := 2; ; {
		if i+4 > len(data) || data[i] != 0xff {
			t.Fatalf("segment at %d is not a marker", i)
		}
		m := data[i+1]
		switch {
		case m == 0xda: // start of scan: the picture itself follows
			return
		case m == 0xdb, m == 0xc4, m == 0xdd, m >= 0xc0 && m <= 0xcf && m != 0xc8 && m != 0xcc:
			// quantisation and Huffman tables, restart interval, frame header
		default:
			t.Errorf("rendition has a segment 0xff%02x: only tables, a frame and a scan may be there", m)
		}
		i += 2 + int(binary.BigEndian.Uint16(data[i+2:]))
	}
}

func TestRenditions(t *testing.T) {
	std := Standard{Renditions: []int{1024, 256, 512}}
	got, err := std.Make(context.Background(), encodeJPEG(t, samplepic.Photo(1600, 1200, 3), 90))
	if err != nil {
		t.Fatal(err)
	}
	checkAvatar(t, std, got, 128)
	var sides []int
	for _, r := range got.Renditions {
		sides = append(sides, r.Width)
		checkRendition(t, r, r.Width)
	}
	if !slices.Equal(sides, []int{256, 512, 1024}) {
		t.Fatalf("renditions of sides %v, want 256, 512, 1024 (smallest first)", sides)
	}
	if got.Renditions[0].ID == got.Renditions[1].ID {
		t.Error("two renditions share an id")
	}
	// Quality changes the bytes, not the size.
	low, err := Standard{Renditions: []int{512}, RenditionQuality: 30}.Make(context.Background(), encodeJPEG(t, samplepic.Photo(1600, 1200, 3), 90))
	if err != nil {
		t.Fatal(err)
	}
	if len(low.Renditions) != 1 || len(low.Renditions[0].Data) >= len(got.Renditions[1].Data) {
		t.Errorf("quality 30 gave %d bytes at 512, the default %d", len(low.Renditions[0].Data), len(got.Renditions[1].Data))
	}
}

// The avatar made from the large decode looks like the one made directly.
func TestRenditionsKeepTheAvatar(t *testing.T) {
	in := encodeJPEG(t, samplepic.Photo(1200, 900, 4), 90)
	plain, err := Standard{}.Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if plain.Renditions != nil {
		t.Fatalf("no renditions asked, %d made", len(plain.Renditions))
	}
	with, err := Standard{Renditions: []int{512}}.Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	a, b := checkAvatar(t, Standard{}, plain, 128), checkAvatar(t, Standard{}, with, 128)
	var sum float64
	for i := range a.Pix {
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		sum += max(d, -d)
	}
	if mean := sum / float64(len(a.Pix)); mean > 2.5 {
		t.Errorf("mean difference %.2f levels between the avatars with and without renditions, want <= 2.5", mean)
	}
	// The rendition shows the same picture, larger.
	r := checkRendition(t, with.Renditions[0], 512)
	for _, p := range []image.Point{{16, 16}, {64, 40}, {100, 110}} {
		big := r.NRGBAAt(p.X*4+2, p.Y*4+2)
		if small := a.NRGBAAt(p.X, p.Y); !near(small, big, 30) {
			t.Errorf("avatar %v = %v, rendition there %v", p, small, big)
		}
	}
}

// A rendition is never blown up from a smaller picture: sides the picture
// cannot fill are left out (a centre crop needs the shorter side, a fit
// the longer).
func TestRenditionsSkipWhatThePictureCannotFill(t *testing.T) {
	for _, tt := range []struct {
		name   string
		w, h   int
		crop   Crop
		sides  []int
		expect []int
	}{
		{"300 px photo", 300, 400, CropCentre, []int{256, 512}, []int{256}},
		{"exactly 512", 512, 700, CropCentre, []int{512}, []int{512}},
		{"too small for any", 300, 300, CropCentre, []int{512}, nil},
		{"fit uses the longer side", 600, 300, CropFit, []int{256, 512, 1024}, []int{256, 512}},
		{"not over the size", 900, 900, CropCentre, []int{128, 64}, nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			std := Standard{Renditions: tt.sides, Crop: tt.crop}
			got, err := std.Make(context.Background(), encodeJPEG(t, samplepic.Photo(tt.w, tt.h, 5), 90))
			if err != nil {
				t.Fatal(err)
			}
			checkAvatar(t, std, got, 128)
			var sides []int
			for _, r := range got.Renditions {
				checkRendition(t, r, r.Width)
				sides = append(sides, r.Width)
			}
			if !slices.Equal(sides, tt.expect) {
				t.Errorf("renditions %v, want %v", sides, tt.expect)
			}
		})
	}
}

// Each EXIF orientation gives upright renditions, as it gives an upright
// avatar.
func TestRenditionsOrientation(t *testing.T) {
	const dw, dh = 400, 300
	for o := 1; o <= 8; o++ {
		t.Run(string(rune('0'+o)), func(t *testing.T) {
			stored := storedAs(o, dw, dh, func(x, y int) color.NRGBA { return quadrantAt(x, y, dw, dh) })
			in := withSegments(encodeJPEG(t, stored, 95), exifSegment(o, binary.LittleEndian, "orientation test"))
			std := Standard{Size: 64, Renditions: []int{256}}
			got, err := std.Make(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Renditions) != 1 {
				t.Fatalf("%d renditions, want 1", len(got.Renditions))
			}
			avatar := checkAvatar(t, std, got, 64)
			r := checkRendition(t, got.Renditions[0], 256)
			for _, p := range []image.Point{{12, 12}, {52, 12}, {12, 52}, {52, 52}} {
				want := quadrantAt(p.X, p.Y, 64, 64)
				if c := avatar.NRGBAAt(p.X, p.Y); !near(c, want, 40) {
					t.Errorf("avatar pixel %v = %v, want %v", p, c, want)
				}
				if c := r.NRGBAAt(p.X*4, p.Y*4); !near(c, want, 40) {
					t.Errorf("rendition pixel %v = %v, want %v", p.Mul(4), c, want)
				}
			}
		})
	}
}

// The privacy promise holds for renditions too: the input's EXIF (with
// GPS), ICC profile, XMP and comment do not reach the JPEG.
func TestRenditionsCarryNoMetadata(t *testing.T) {
	const secret = "GPS 48.858370N 2.294481E secret-place"
	app := func(marker byte, payload string) []byte {
		seg := []byte{0xff, marker, 0, 0}
		binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
		return append(seg, payload...)
	}
	in := withSegments(encodeJPEG(t, samplepic.Photo(800, 600, 6), 90),
		exifSegment(1, binary.LittleEndian, secret),
		app(0xe1, "http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta>"+secret+"</x:xmpmeta>"),
		app(0xe2, "ICC_PROFILE\x00\x01\x01"+strings.Repeat("\x00", 128)+secret),
		comSegment("comment "+secret))
	got, err := Standard{Renditions: []int{512}}.Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Renditions) != 1 {
		t.Fatalf("%d renditions, want 1", len(got.Renditions))
	}
	r := got.Renditions[0]
	checkRendition(t, r, 512)
	for _, s := range []string{secret, "secret", "Exif", "ICC_PROFILE", "xmpmeta", "comment"} {
		if bytes.Contains(r.Data, []byte(s)) {
			t.Errorf("rendition contains %q", s)
		}
	}
}

// JPEG has no alpha: transparent pixels become the background, or white
// where the background is transparent too; fit's bands likewise.
func TestRenditionsFlattenTransparency(t *testing.T) {
	// Left half transparent, right half opaque blue; 600x300.
	half := image.NewNRGBA(image.Rect(0, 0, 600, 300))
	for y := range 300 {
		for x := 300; x < 600; x++ {
			half.SetNRGBA(x, y, color.NRGBA{0, 0, 200, 255})
		}
	}
	in := encodePNGTest(t, half)
	blue := color.NRGBA{0, 0, 200, 255}
	white := color.NRGBA{255, 255, 255, 255}
	teal := color.NRGBA{16, 128, 128, 255}
	for _, tt := range []struct {
		name       string
		std        Standard
		left, band color.NRGBA // the transparent half, fit's band above
	}{
		{"centre, transparent background", Standard{Renditions: []int{256}}, white, white},
		{"fit, transparent background", Standard{Renditions: []int{256}, Crop: CropFit}, white, white},
		{"fit, coloured background", Standard{Renditions: []int{256}, Crop: CropFit, Background: teal}, teal, teal},
		{"fit, half transparent background", Standard{Renditions: []int{256}, Crop: CropFit, Background: color.NRGBA{0, 0, 0, 128}}, color.NRGBA{127, 127, 127, 255}, color.NRGBA{127, 127, 127, 255}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.std.Make(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			if len(got.Renditions) != 1 {
				t.Fatalf("%d renditions, want 1", len(got.Renditions))
			}
			r := checkRendition(t, got.Renditions[0], 256)
			if c := r.NRGBAAt(30, 128); !near(c, tt.left, 6) {
				t.Errorf("transparent part = %v, want %v", c, tt.left)
			}
			if c := r.NRGBAAt(226, 128); !near(c, blue, 12) {
				t.Errorf("opaque part = %v, want %v", c, blue)
			}
			if tt.std.Crop == CropFit {
				if c := r.NRGBAAt(200, 20); !near(c, tt.band, 6) {
					t.Errorf("band above the picture = %v, want %v", c, tt.band)
				}
			}
		})
	}
}

// The avatar's byte budget still holds when renditions are made: they have
// none of their own, the PNG keeps its.
func TestRenditionsKeepTheBudget(t *testing.T) {
	std := Standard{MaxBytes: 16 << 10, Renditions: []int{512}}
	got, err := std.Make(context.Background(), encodePNGTest(t, noise(700, 700, 7)))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Data) > std.MaxBytes {
		t.Errorf("avatar %d bytes, budget %d", len(got.Data), std.MaxBytes)
	}
	if got.Width >= 128 {
		t.Errorf("noise at 128 cannot fit 16 KiB, yet the avatar is %dx%d", got.Width, got.Height)
	}
	if len(got.Renditions) != 1 {
		t.Fatalf("%d renditions, want 1", len(got.Renditions))
	}
	checkRendition(t, got.Renditions[0], 512)
}

func TestRenditionsCheck(t *testing.T) {
	for _, tt := range []struct {
		std  Standard
		want string // "" for valid
	}{
		{Standard{Renditions: []int{512, 1024}}, ""},
		{Standard{Renditions: []int{2048}, RenditionQuality: 100}, ""},
		{Standard{Renditions: []int{128}}, "rendition 128"},
		{Standard{Size: 256, Renditions: []int{200}}, "rendition 200"},
		{Standard{Renditions: []int{4096}}, "rendition 4096"},
		{Standard{Renditions: []int{512, 512}}, "listed twice"},
		{Standard{RenditionQuality: 101}, "quality 101"},
	} {
		err := tt.std.Check()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%+v: %v", tt.std.Renditions, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%v quality %d: error %v, want %q", tt.std.Renditions, tt.std.RenditionQuality, err, tt.want)
		}
	}
}

// The large decode and the renditions' encoding take one Limiter slot,
// as a plain decode does: a limit of one still lets pictures through, one
// at a time.
func TestRenditionsUseOneLimiterSlot(t *testing.T) {
	std := Standard{Renditions: []int{256}, Limiter: NewLimiter(1)}
	in := encodeJPEG(t, samplepic.Photo(600, 400, 8), 90)
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			got, err := std.Make(context.Background(), in)
			if err == nil && len(got.Renditions) != 1 {
				err = errors.New("no rendition")
			}
			errs <- err
		}()
	}
	for range 3 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if n := len(std.Limiter.slots); n != 0 {
		t.Fatalf("%d slots still held", n)
	}
}
