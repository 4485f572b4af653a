package avatar

import (
	"bytes"
	"context"
	"errors"
	"image"
	"image/draw"
	"image/jpeg"
	"strings"
	"testing"

	"mmsprofile/avatar/internal/samplepic"
)

// app2 is an APP2 ICC_PROFILE segment carrying chunk seq of count.
func app2(seq, count byte, chunk []byte) []byte {
	body := append([]byte("ICC_PROFILE\x00"), seq, count)
	body = append(body, chunk...)
	n := len(body) + 2
	return append([]byte{0xff, 0xe2, byte(n >> 8), byte(n)}, body...)
}

func TestJPEGICC(t *testing.T) {
	profile := jpegICC(readTestdata(t, "quadrants-adobergb.jpg"))
	if len(profile) < 128 || string(profile[36:40]) != "acsp" {
		t.Fatalf("profile of quadrants-adobergb.jpg: %d bytes, no ICC signature", len(profile))
	}
	plain := encodeJPEG(t, samplepic.Photo(64, 48, 1), 90)
	if p := jpegICC(plain); p != nil {
		t.Errorf("a JPEG without profile gave %d bytes", len(p))
	}
	half := len(profile) / 2
	reordered := withSegments(plain, app2(2, 2, profile[half:]), app2(1, 2, profile[:half]))
	if got := jpegICC(reordered); !bytes.Equal(got, profile) {
		t.Errorf("two chunks out of order: %d bytes, want the %d of the profile", len(got), len(profile))
	}
	for name, broken := range map[string][]byte{
		"missing chunk":  withSegments(plain, app2(1, 2, profile[:half])),
		"chunk twice":    withSegments(plain, app2(1, 2, profile[:half]), app2(1, 2, profile[:half])),
		"counts differ":  withSegments(plain, app2(1, 2, profile[:half]), app2(2, 3, profile[half:])),
		"seq over count": withSegments(plain, app2(3, 2, profile)),
		"seq zero":       withSegments(plain, app2(0, 1, profile)),
	} {
		if got := jpegICC(broken); got != nil {
			t.Errorf("%s: %d bytes, want none", name, len(got))
		}
	}
}

// adobeRGBPhoto is quadrants-adobergb.jpg (the quadrant colours in Adobe
// RGB numbers, with the profile) enlarged to side pixels, so that it takes
// a DCT scale.
func adobeRGBPhoto(t *testing.T, side int) []byte {
	t.Helper()
	src := readTestdata(t, "quadrants-adobergb.jpg")
	small, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	big := image.NewRGBA(image.Rect(0, 0, side, side))
	sb := small.Bounds()
	for q := range 4 {
		// The colour at the middle of each stored quadrant, spread over
		// the same quadrant of the big picture.
		qx, qy := q%2, q/2
		c := small.At(sb.Dx()/4+qx*sb.Dx()/2, sb.Dy()/4+qy*sb.Dy()/2)
		r := image.Rect(qx*side/2, qy*side/2, (qx+1)*side/2, (qy+1)*side/2)
		draw.Draw(big, r, &image.Uniform{c}, image.Point{}, draw.Src)
	}
	profile := jpegICC(src)
	return withSegments(encodeJPEG(t, big, 95), app2(1, 1, profile))
}

// TestICCToSRGBLarge is TestICCToSRGB for a photo large enough to take a
// DCT scale, which the vips backend decodes with jpegscale and colour-
// manages with libvips afterwards.
func TestICCToSRGBLarge(t *testing.T) {
	std := Standard{Size: 64}
	got, err := std.Make(context.Background(), adobeRGBPhoto(t, 768))
	if err != nil {
		t.Fatal(err)
	}
	tol := 100
	if backendName() == "vips" {
		tol = 12
	}
	out := checkAvatar(t, std, got, 64)
	for _, p := range []image.Point{{12, 12}, {52, 12}, {12, 52}, {52, 52}} {
		if c, want := out.NRGBAAt(p.X, p.Y), quadrantAt(p.X, p.Y, 64, 64); !near(c, want, tol) {
			t.Errorf("pixel %v = %v, want %v within %d", p, c, want, tol)
		}
	}
}

func TestJPEGScans(t *testing.T) {
	prog := readTestdata(t, "progressive.jpg")
	base := encodeJPEG(t, samplepic.Photo(64, 48, 1), 90)
	for _, tc := range []struct {
		name string
		data []byte
		want int
	}{
		{"baseline", base, 1},
		{"EXIF thumbnail not counted", withSegments(base, exifWith(base)), 1},
		{"picture appended after the end", append(append([]byte{}, base...), base...), 1},
		{"cut in its scan", base[:len(base)/2], 1},
	} {
		if got := jpegScans(tc.data, maxJPEGScans); got != tc.want {
			t.Errorf("%s: %d scans, want %d", tc.name, got, tc.want)
		}
	}
	// ImageMagick's progressive script for colour pictures has 10 scans.
	if n := jpegScans(prog, maxJPEGScans); n != 10 {
		t.Errorf("progressive.jpg: %d scans, want 10", n)
	}
}

// exifWith is an APP1 segment whose payload holds a whole JPEG, as an EXIF
// thumbnail does.
func exifWith(jpg []byte) []byte {
	payload := append([]byte("Exif\x00\x00"), jpg...)
	n := len(payload) + 2
	return append([]byte{0xff, 0xe1, byte(n >> 8), byte(n)}, payload...)
}

// TestManyScansRefused checks that a JPEG made of a great many scans, which
// would keep any decoder busy for each of them, is refused from its
// header, in both backends.
func TestManyScansRefused(t *testing.T) {
	prog := readTestdata(t, "progressive.jpg")
	// The last scan of the file (its SOS segment and data), repeated.
	last := bytes.LastIndex(prog, []byte{0xff, 0xda})
	end := bytes.LastIndex(prog, []byte{0xff, 0xd9})
	if last < 0 || end < last {
		t.Fatal("progressive.jpg has no last scan")
	}
	many := append([]byte{}, prog[:end]...)
	for range maxJPEGScans {
		many = append(many, prog[last:end]...)
	}
	many = append(many, 0xff, 0xd9)
	_, err := Standard{Size: 16}.Make(context.Background(), many)
	if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "scans") {
		t.Fatalf("err = %v, want ErrTooLarge for the scans", err)
	}
}
