package avatar

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"image"
	"image/color"
	"image/draw"
	"image/jpeg"
	"testing"
)

// TestPNGStreamed makes avatars of PNGs large enough that decodePNG
// averages them down as it streams (1/8 here), 8- and 16-bit, opaque and
// with alpha, in every backend of the build: the quadrants keep their
// colours and places, and a transparent pixel's colour does not bleed
// into the opaque ones around it.
func TestPNGStreamed(t *testing.T) {
	const w, h = 1536, 1024
	opaque8 := image.NewNRGBA(image.Rect(0, 0, w, h))
	sieve16 := image.NewNRGBA64(image.Rect(0, 0, w, h))
	for y := range h {
		for x := range w {
			c := quadrantAt(x, y, w, h)
			opaque8.SetNRGBA(x, y, c)
			// Every other pixel fully transparent, and bright magenta
			// that must not show.
			if (x+y)%2 == 0 {
				sieve16.SetNRGBA64(x, y, color.NRGBA64{0xffff, 0, 0xffff, 0})
			} else {
				sieve16.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R) * 257, uint16(c.G) * 257, uint16(c.B) * 257, 0xffff})
			}
		}
	}
	if k := pngScaleFor(image.Config{Width: w, Height: h}, 64, true); k != 8 {
		t.Fatalf("scale 1/%d, want 1/8", k)
	}
	for _, be := range Backends() {
		for _, c := range []struct {
			name  string
			img   image.Image
			alpha uint8
		}{{"8-bit opaque", opaque8, 0xff}, {"16-bit half transparent", sieve16, 0x80}} {
			t.Run(be+"/"+c.name, func(t *testing.T) {
				std := Standard{Backend: be, Size: 64}
				got, err := std.Make(context.Background(), encodePNGTest(t, c.img))
				if err != nil {
					t.Fatal(err)
				}
				out := checkAvatar(t, std, got, 64)
				for _, p := range []image.Point{{12, 12}, {52, 12}, {12, 52}, {52, 52}} {
					want := quadrantAt(p.X, p.Y, 64, 64)
					want.A = c.alpha
					if got := out.NRGBAAt(p.X, p.Y); !near(got, want, 3) {
						t.Errorf("pixel %v = %v, want %v", p, got, want)
					}
				}
			})
		}
	}
}

// TestPNGStreamedErrors: a large PNG cut short, or with a broken CRC, is
// refused as corrupt, as image/png refused it before.
func TestPNGStreamedErrors(t *testing.T) {
	data := encodePNGTest(t, noise(800, 600, 3))
	bad := append([]byte{}, data...)
	bad[len(bad)/2] ^= 1
	for _, be := range Backends() {
		for name, b := range map[string][]byte{"cut short": data[:len(data)*3/4], "bad CRC": bad} {
			_, err := Standard{Backend: be, Size: 64}.Make(context.Background(), b)
			if !errors.Is(err, ErrCorrupt) {
				t.Errorf("%s, %s: %v, want ErrCorrupt", be, name, err)
			}
		}
	}
}

// TestPNGICC is TestICCToSRGBLarge for a PNG: quadrants in Adobe RGB
// numbers with the profile in an iCCP chunk, large enough to be averaged
// down by pngscale. The vips build brings the colours to sRGB, as
// libvips did for large PNGs before pngscale; the pure-Go build manages
// no colour, for PNG as for JPEG.
func TestPNGICC(t *testing.T) {
	src := readTestdata(t, "quadrants-adobergb.jpg")
	small, err := jpeg.Decode(bytes.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	const side = 768
	big := image.NewNRGBA(image.Rect(0, 0, side, side))
	sb := small.Bounds()
	for q := range 4 {
		qx, qy := q%2, q/2
		c := small.At(sb.Dx()/4+qx*sb.Dx()/2, sb.Dy()/4+qy*sb.Dy()/2)
		draw.Draw(big, image.Rect(qx*side/2, qy*side/2, (qx+1)*side/2, (qy+1)*side/2), &image.Uniform{c}, image.Point{}, draw.Src)
	}
	var z bytes.Buffer
	zw := zlib.NewWriter(&z)
	zw.Write(jpegICC(src))
	zw.Close()
	data := withPNGChunk(encodePNGTest(t, big), "iCCP", append([]byte("Adobe RGB\x00\x00"), z.Bytes()...))
	for _, be := range Backends() {
		std := Standard{Backend: be, Size: 64}
		got, err := std.Make(context.Background(), data)
		if err != nil {
			t.Fatal(err)
		}
		out := checkAvatar(t, std, got, 64)
		tol := 100
		if be == "vips" {
			tol = 12
		}
		for _, p := range []image.Point{{12, 12}, {52, 12}, {12, 52}, {52, 52}} {
			if c, want := out.NRGBAAt(p.X, p.Y), quadrantAt(p.X, p.Y, 64, 64); !near(c, want, tol) {
				t.Errorf("%s: pixel %v = %v, want %v within %d", be, p, c, want, tol)
			}
		}
	}
}
