package pngscale_test

import (
	"bytes"
	"image/png"
	"testing"

	"mmsprofile/avatar/internal/pngscale"
)

// specs covers every colour type and bit depth PNG allows, with and
// without tRNS, plain and interlaced, at sizes that are no multiple of
// the scales (and one smaller than Adam7's first pass).
func specs() []spec {
	type kind struct{ ctype, depth int }
	var kinds []kind
	for _, d := range []int{1, 2, 4, 8, 16} {
		kinds = append(kinds, kind{0, d})
		if d <= 8 {
			kinds = append(kinds, kind{3, d})
		}
		if d >= 8 {
			kinds = append(kinds, kind{2, d}, kind{4, d}, kind{6, d})
		}
	}
	var out []spec
	seed := uint64(1)
	for _, k := range kinds {
		for _, il := range []bool{false, true} {
			for _, trns := range []bool{false, true} {
				s := spec{w: 37, h: 29, depth: k.depth, ctype: k.ctype, interlace: il, seed: seed, idatSize: 97}
				seed++
				if k.ctype == 3 {
					s.npal = min(1<<k.depth, 13)
				}
				if trns {
					v := byte(1<<min(k.depth, 8)-1) / 3
					switch k.ctype {
					case 0:
						s.trns = []byte{0, v}
						if k.depth == 16 {
							s.trns = []byte{0x12, 0x34}
						}
					case 2:
						s.trns = []byte{0, 10, 0, 20, 0, 30}
						if k.depth == 16 {
							s.trns = []byte{1, 10, 2, 20, 3, 30}
						}
					case 3:
						s.trns = []byte{0, 128, 255}
					default:
						continue // tRNS is not allowed with an alpha channel
					}
				}
				out = append(out, s)
			}
		}
	}
	out = append(out,
		spec{w: 3, h: 2, depth: 8, ctype: 6, interlace: true, seed: 99},
		spec{w: 1, h: 1, depth: 1, ctype: 0, interlace: true, seed: 98},
		spec{w: 1, h: 9, depth: 16, ctype: 6, seed: 97},
		spec{w: 70, h: 1, depth: 2, ctype: 3, npal: 4, seed: 96},
	)
	return out
}

// TestDecodeMatchesImagePNG compares Decode at scale 1 with image/png's
// decode of the same bytes, sample for sample, and at other scales with
// a box average of image/png's pixels (within one level: the reference
// rounds in floating point).
func TestDecodeMatchesImagePNG(t *testing.T) {
	for _, s := range specs() {
		t.Run(s.String(), func(t *testing.T) {
			data := s.file()
			pix, w, h, wide := reference(t, data)
			alpha := s.ctype == 4 || s.ctype == 6 || s.trns != nil
			for _, k := range []int{1, 2, 3, 5, 8, 40} {
				got, err := pngscale.Decode(data, k, 1<<20)
				if err != nil {
					t.Fatalf("1/%d: %v", k, err)
				}
				if got.Opaque == alpha {
					t.Errorf("1/%d: Opaque %v for a picture with alpha %v", k, got.Opaque, alpha)
				}
				want, tolerance := exact(pix, w, h, wide), 0
				if k > 1 {
					want, tolerance = boxAverage(pix, w, h, k, wide, alpha), 1
				}
				if d, at := diff(got.Image, want); d < 0 || d > tolerance {
					t.Fatalf("1/%d: %v, want %v; off by %d at %v: %v, want %v", k, got.Image.Rect, want.Rect, d, at,
						got.Image.NRGBAAt(at.X, at.Y), want.NRGBAAt(at.X, at.Y))
				}
			}
		})
	}
}

// TestTransparentDoesNotBleed averages a block half opaque red, half
// transparent green: the colour must stay red, at half alpha.
func TestTransparentDoesNotBleed(t *testing.T) {
	for _, depth := range []int{8, 16} {
		s := spec{w: 2, h: 2, depth: depth, ctype: 6}
		top := byte(0xff)
		px := func(r, g, b, a byte) []byte {
			if depth == 8 {
				return []byte{r, g, b, a}
			}
			return []byte{r, r, g, g, b, b, a, a}
		}
		row := append(px(top, 0, 0, top), px(0, top, 0, 0)...)
		raw := append(append([]byte{0}, row...), append([]byte{0}, row...)...)
		got, err := pngscale.Decode(s.fileWith(compress(raw)), 2, 4)
		if err != nil {
			t.Fatal(err)
		}
		if c := got.Image.NRGBAAt(0, 0); c.R != 0xff || c.G != 0 || c.B != 0 || c.A < 0x7f || c.A > 0x80 {
			t.Errorf("%d bits: %v, want red at half alpha", depth, c)
		}
	}
}

// TestSixteenBitPrecision averages 16-bit samples that 8 bits would cut
// alike: 0x1280 and 0x12ff average to 0x12bf, which is 0x12 as 8 bits,
// while averaging after the cut would give 0x12 too; but 0x11ff and
// 0x1201 average to 0x1200, where cut first they would give 0x11.
func TestSixteenBitPrecision(t *testing.T) {
	s := spec{w: 2, h: 1, depth: 16, ctype: 0}
	raw := []byte{0, 0x11, 0xff, 0x12, 0x01}
	got, err := pngscale.Decode(s.fileWith(compress(raw)), 2, 2)
	if err != nil {
		t.Fatal(err)
	}
	if c := got.Image.NRGBAAt(0, 0); c.R != 0x12 {
		t.Errorf("grey %#x, want 0x12", c.R)
	}
}

// TestICC hands on the iCCP profile, inflated.
func TestICC(t *testing.T) {
	profile := bytes.Repeat([]byte("not really ICC "), 100)
	iccp := chunk(nil, "iCCP", append([]byte("test\x00\x00"), compress(profile)...))
	s := spec{w: 5, h: 4, depth: 8, ctype: 2, seed: 3}
	got, err := pngscale.Decode(s.file(iccp), 2, 20)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.ICC, profile) {
		t.Errorf("ICC %q, want %q", got.ICC, profile)
	}
	// A profile that does not inflate is ignored, as browsers do.
	broken := chunk(nil, "iCCP", []byte("test\x00\x00garbage"))
	got, err = pngscale.Decode(s.file(broken), 2, 20)
	if err != nil || got.ICC != nil {
		t.Errorf("broken profile: %v, ICC %q", err, got.ICC)
	}
}

// TestImagePNGEncoded reads what image/png writes, for the 8- and 16-bit
// types it encodes with its own filter choices.
func TestImagePNGEncoded(t *testing.T) {
	for _, s := range specs() {
		if s.depth < 8 || s.interlace || s.trns != nil {
			continue
		}
		img, err := png.Decode(bytes.NewReader(s.file()))
		if err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		if err := png.Encode(&buf, img); err != nil {
			t.Fatal(err)
		}
		pix, w, h, wide := reference(t, buf.Bytes())
		got, err := pngscale.Decode(buf.Bytes(), 1, 1<<20)
		if err != nil {
			t.Fatalf("%v: %v", s, err)
		}
		if d, at := diff(got.Image, exact(pix, w, h, wide)); d != 0 {
			t.Errorf("%v: off by %d at %v", s, d, at)
		}
	}
}

func TestScale(t *testing.T) {
	for _, c := range []struct{ side, want, k int }{
		{4000, 256, 15}, {3000, 256, 11}, {1200, 256, 4}, {511, 256, 1}, {100, 256, 1}, {512, 256, 2}, {10, 0, 1},
	} {
		k := pngscale.Scale(c.side, c.want)
		if k != c.k {
			t.Errorf("Scale(%d, %d) = %d, want %d", c.side, c.want, k, c.k)
		}
		if c.want > 0 && c.side >= c.want && (c.side+k-1)/k < c.want {
			t.Errorf("Scale(%d, %d) = %d leaves %d", c.side, c.want, k, (c.side+k-1)/k)
		}
	}
}
