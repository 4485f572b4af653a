package avatar

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"math"
	"strings"
	"testing"
	"time"

	"mmsprofile/avatar/internal/samplepic"
)

// TestArrowUp draws an arrow pointing up, with a red mark at its top
// right, stores it as a camera would in each EXIF orientation, and checks
// that the avatar shows it pointing up and not mirrored, in whichever
// backend this build uses.
func TestArrowUp(t *testing.T) {
	const dw, dh = 120, 90 // landscape, so the crop matters too
	// In the centred 90x90 square: the head from an apex at (45, 9) to a
	// base 54 wide at v = 40, the shaft 12 wide down to v = 81.
	arrow := func(x, y int) color.NRGBA {
		u, v := x-(dw-dh)/2, y
		white, black, red := color.NRGBA{250, 250, 250, 255}, color.NRGBA{10, 10, 10, 255}, color.NRGBA{230, 20, 20, 255}
		switch {
		case u >= 70 && u < 85 && v >= 5 && v < 20:
			return red
		case v >= 9 && v < 40 && math.Abs(float64(u-45)) <= 27*float64(v-9)/31:
			return black
		case v >= 40 && v < 81 && u >= 39 && u < 51:
			return black
		}
		return white
	}
	dark := func(img *image.NRGBA, y int) int {
		n := 0
		for x := range img.Rect.Dx() {
			if c := img.NRGBAAt(x, y); c.R < 80 && c.G < 80 {
				n++
			}
		}
		return n
	}
	for o := 1; o <= 8; o++ {
		t.Run(string(rune('0'+o)), func(t *testing.T) {
			in := withSegments(encodeJPEG(t, storedAs(o, dw, dh, arrow), 92), exifSegment(o, binary.LittleEndian, "arrow"))
			std := Standard{Size: 90}
			got, err := std.Make(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			out := checkAvatar(t, std, got, 90)
			head, shaft, above := dark(out, 36), dark(out, 70), dark(out, 4)
			if head < 2*shaft || shaft < 6 || above != 0 {
				t.Errorf("dark pixels: %d above the apex, %d across the head, %d across the shaft: the arrow does not point up", above, head, shaft)
			}
			if c := out.NRGBAAt(77, 12); c.R < 150 || c.G > 100 {
				t.Errorf("top right %v, want the red mark: the picture is mirrored or turned", c)
			}
			if c := out.NRGBAAt(12, 12); c.G < 200 {
				t.Errorf("top left %v, want white", c)
			}
		})
	}
}

// TestHEIF checks what iPhones send: decoded by a backend that reads it,
// refused with advice to send a JPEG by one that does not.
func TestHEIF(t *testing.T) {
	for _, tt := range []struct{ file, typ, name string }{
		{"quadrants.heic", "image/heic", "HEIC"},
		{"quadrants.avif", "image/avif", "AVIF"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			in := readTestdata(t, tt.file)
			got, err := Standard{Size: 64}.Make(context.Background(), in)
			if !Decodes("", tt.typ) {
				if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), tt.name) || !strings.Contains(err.Error(), "JPEG") {
					t.Fatalf("err = %v, want ErrUnsupported naming %s and JPEG", err, tt.name)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			out := checkAvatar(t, Standard{Size: 64}, got, 64)
			for _, p := range []image.Point{{12, 12}, {52, 12}, {12, 52}, {52, 52}} {
				if c, want := out.NRGBAAt(p.X, p.Y), quadrantAt(p.X, p.Y, 64, 64); !near(c, want, 30) {
					t.Errorf("pixel %v = %v, want %v", p, c, want)
				}
			}
		})
	}
	t.Run("bomb", func(t *testing.T) {
		// The same file claiming 60000x60000 in its ispe box: refused
		// from the Go-read header before libheif sees it.
		in := bytes.Clone(readTestdata(t, "quadrants.heic"))
		i := bytes.Index(in, []byte("ispe"))
		if i < 0 {
			t.Fatal("no ispe box")
		}
		binary.BigEndian.PutUint32(in[i+8:], 60000)
		binary.BigEndian.PutUint32(in[i+12:], 60000)
		want := ErrTooLarge
		if !Decodes("", "image/heic") {
			want = ErrUnsupported
		}
		if _, err := (Standard{}).Make(context.Background(), in); !errors.Is(err, want) {
			t.Fatalf("err = %v, want %v", err, want)
		}
	})
}

// TestICCToSRGB checks that a picture tagged with an Adobe RGB profile
// comes out in sRGB colours with the vips backend, and without any ICC
// chunk whichever the backend (the pure-Go one ignores profiles).
func TestICCToSRGB(t *testing.T) {
	got, err := Standard{Size: 64}.Make(context.Background(), readTestdata(t, "quadrants-adobergb.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(got.Data, []byte("iCCP")) || bytes.Contains(got.Data, []byte("sRGB")) {
		t.Error("output carries a colour chunk")
	}
	// Go reads Adobe RGB numbers as sRGB: green comes out 114,200,53
	// instead of 20,200,20, the right hue but washed out.
	tol := 100
	if backendName() == "vips" {
		tol = 12
	}
	out := checkAvatar(t, Standard{Size: 64}, got, 64)
	for _, p := range []image.Point{{12, 12}, {52, 12}, {12, 52}, {52, 52}} {
		if c, want := out.NRGBAAt(p.X, p.Y), quadrantAt(p.X, p.Y, 64, 64); !near(c, want, tol) {
			t.Errorf("pixel %v = %v, want %v within %d", p, c, want, tol)
		}
	}
}

func TestContentStandard(t *testing.T) {
	black := encodeJPEG(t, image.NewGray(image.Rect(0, 0, 640, 480)), 90)
	white := image.NewNRGBA(image.Rect(0, 0, 300, 300))
	for i := range white.Pix {
		white.Pix[i] = 0xff
	}
	photo := encodeJPEG(t, samplepic.Photo(400, 300, 5), 90)
	tests := []struct {
		name string
		in   []byte
		std  Standard
		want error
	}{
		{"black frame", black, Standard{}, ErrBlank},
		{"white page", encodePNGTest(t, white), Standard{}, ErrBlank},
		{"black frame, check off", black, Standard{MinDetail: -1}, nil},
		{"under MinSide", encodeJPEG(t, samplepic.Photo(200, 20, 1), 90), Standard{}, ErrTooSmall},
		{"MinSide raised", photo, Standard{MinSide: 301}, ErrTooSmall},
		{"not accepted", photo, Standard{Accept: []string{"image/png"}}, ErrUnsupported},
		{"accepted", photo, Standard{Accept: []string{"image/jpeg"}}, nil},
		{"hook accepts", photo, Standard{Hook: []string{"true"}}, nil},
		{"hook refuses", photo, Standard{Hook: []string{"false"}}, ErrRejected},
		{"hook sees the PNG", photo, Standard{Hook: []string{"sh", "-c", `test "$(head -c 4 | tail -c 3)" = PNG`}}, nil},
		{"hook fails", photo, Standard{Hook: []string{"sh", "-c", "exit 3"}}, ErrCheckFailed},
		{"hook missing", photo, Standard{Hook: []string{"/nonexistent/hook"}}, ErrCheckFailed},
		{"hook too slow", photo, Standard{Hook: []string{"sleep", "10"}, HookTimeout: 200 * time.Millisecond}, ErrCheckFailed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			got, err := tt.std.Make(context.Background(), tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				checkAvatar(t, tt.std, got, 128)
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if time.Since(start) > 5*time.Second {
				t.Errorf("took %v: the hook's time limit did not hold", time.Since(start))
			}
			t.Log(err)
		})
	}
}

func TestCropFit(t *testing.T) {
	bg := color.NRGBA{0, 0, 255, 255}
	in := encodeJPEG(t, samplepic.Photo(400, 200, 3), 90) // 2:1, so bands of 32 above and below
	for _, tt := range []struct {
		name   string
		bg     color.NRGBA
		opaque bool
	}{
		{"blue bands", bg, true},
		{"transparent bands", color.NRGBA{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			std := Standard{Crop: CropFit, Background: tt.bg}
			got, err := std.Make(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			out := checkAvatar(t, std, got, 128)
			for _, p := range []image.Point{{64, 2}, {64, 29}, {64, 98}, {64, 125}} {
				if c := out.NRGBAAt(p.X, p.Y); !near(c, tt.bg, 0) && !(tt.bg.A == 0 && c.A == 0) {
					t.Errorf("band pixel %v = %v, want %v", p, c, tt.bg)
				}
			}
			for _, p := range []image.Point{{2, 64}, {64, 40}, {125, 88}} {
				if c := out.NRGBAAt(p.X, p.Y); c.A != 255 || c == bg {
					t.Errorf("picture pixel %v = %v, want the photo", p, c)
				}
			}
			// IHDR colour type: 6 is RGBA, 2 RGB, 3 palette.
			if ct := got.Data[25]; (ct == 6) == tt.opaque {
				t.Errorf("PNG colour type %d with opaque=%v", ct, tt.opaque)
			}
		})
	}
}

// TestGIFLimits checks the frame walk that runs before either backend.
func TestGIFLimits(t *testing.T) {
	frame := func(r image.Rectangle, c color.NRGBA) *image.Paletted {
		p := image.NewPaletted(r, color.Palette{c, color.NRGBA{90, 90, 90, 255}})
		for y := r.Min.Y; y < r.Max.Y; y++ {
			p.SetColorIndex(r.Min.X, y, 1)
		}
		return p
	}
	anim := func(n int) []byte {
		g := &gif.GIF{Config: image.Config{Width: 64, Height: 64}}
		for i := range n {
			g.Image = append(g.Image, frame(image.Rect(0, 0, 64, 64), color.NRGBA{uint8(i * 40), 0, 0, 255}))
			g.Delay = append(g.Delay, 5)
		}
		var b bytes.Buffer
		if err := gif.EncodeAll(&b, g); err != nil {
			t.Fatal(err)
		}
		return b.Bytes()
	}
	three := anim(3)
	if n, err := gifFrames(three, 64, 64); n != 3 || err != nil {
		t.Fatalf("gifFrames = %d, %v; want 3", n, err)
	}
	// A frame reaching past the screen: patch the second frame's width.
	over := bytes.Clone(three)
	i := bytes.Index(over[13+6:], []byte{0x2c}) // past the first descriptor's neighbourhood
	for j := 13; j < len(over); j++ {
		if over[j] == 0x2c && j > i {
			binary.LittleEndian.PutUint16(over[j+5:], 60000)
			break
		}
	}
	if _, err := (Standard{MaxFrames: 2}).Make(context.Background(), three); !errors.Is(err, ErrTooLarge) {
		t.Errorf("3 frames over MaxFrames 2: err = %v, want ErrTooLarge", err)
	}
	if _, err := (Standard{}).Make(context.Background(), three); err != nil {
		t.Errorf("3 frames: %v", err)
	}
	if _, err := (Standard{}).Make(context.Background(), over); !errors.Is(err, ErrCorrupt) {
		t.Errorf("overhanging frame: err = %v, want ErrCorrupt", err)
	}
	for n := range len(three) {
		gifFrames(three[:n], 64, 64) // every prefix must be safe to walk
	}
}

func TestLimiter(t *testing.T) {
	l := NewLimiter(1)
	std := Standard{Limiter: l}
	in := encodeJPEG(t, samplepic.Photo(320, 240, 1), 90)
	if err := l.acquire(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := std.Make(ctx, in); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with the only slot taken: err = %v, want DeadlineExceeded", err)
	}
	l.release()
	if _, err := std.Make(context.Background(), in); err != nil {
		t.Fatalf("with the slot free: %v", err)
	}
}

func TestCheck(t *testing.T) {
	for _, tt := range []struct {
		std Standard
		ok  bool
	}{
		{Standard{}, true},
		{Standard{Crop: "fill"}, false},
		{Standard{Accept: []string{"image/jpeg", "image/heic"}}, true},
		{Standard{Accept: []string{"image/tiff"}}, false},
		{Standard{MinSide: 20000}, false},
		{Standard{Backend: "go"}, true},
		{Standard{Backend: "magick"}, false},
	} {
		if err := tt.std.Check(); (err == nil) != tt.ok {
			t.Errorf("%+v: Check() = %v", tt.std, err)
		}
	}
}

// TestBackendsAgree compares the two backends on the same photo where both
// are built in: they need not match to the bit, but must show the same
// picture.
func TestBackendsAgree(t *testing.T) {
	if len(Backends()) < 2 {
		t.Skip("only the pure-Go backend in this build (go test -tags vips)")
	}
	in := withSegments(encodeJPEG(t, samplepic.Photo(1600, 1200, 12), 90), exifSegment(6, binary.BigEndian, "x"))
	var outs []*image.NRGBA
	for _, name := range Backends() {
		std := Standard{Backend: name}
		got, err := std.Make(context.Background(), in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		outs = append(outs, checkAvatar(t, std, got, 128))
	}
	var sum float64
	for i := range outs[0].Pix {
		d := float64(outs[0].Pix[i]) - float64(outs[1].Pix[i])
		sum += math.Abs(d)
	}
	if mean := sum / float64(len(outs[0].Pix)); mean > 4 {
		t.Errorf("backends differ by %.2f levels on average, want <= 4", mean)
	} else {
		t.Logf("backends differ by %.2f levels on average", mean)
	}
}
