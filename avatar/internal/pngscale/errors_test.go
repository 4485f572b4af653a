package pngscale_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"image/png"
	"io"
	"testing"

	"mmsprofile/avatar/internal/pngscale"
)

// TestErrors breaks PNGs in the ways strangers' files are broken and
// checks that Decode refuses each with the right sentinel, and that
// image/png refuses it too (parity: what one decoder of ours refuses, the
// other does), except where the package documents a difference.
func TestErrors(t *testing.T) {
	base := spec{w: 37, h: 29, depth: 8, ctype: 6, seed: 5}
	good := base.file()
	raw := base.imageData()
	idat := bytes.Index(good, []byte("IDAT"))

	flip := func(b []byte, i int) []byte {
		b = bytes.Clone(b)
		b[i] ^= 0x40
		return b
	}
	withIHDR := func(s spec) []byte {
		// The image data of base under another header.
		return s.fileWith(compress(raw))
	}
	badFilter := bytes.Clone(raw)
	badFilter[(1+4*37)*3] = 5
	tooMuch := base.fileWith(compress(append(bytes.Clone(raw), 0, 0, 0, 0)))
	palette := spec{w: 8, h: 8, depth: 8, ctype: 3, npal: 4, seed: 6}
	noPLTE := palette
	noPLTE.npal, noPLTE.maxIndex = 0, 3
	huge := base
	huge.w, huge.h = 60000, 60000
	unknownCritical := func() []byte {
		b := chunk(bytes.Clone(good[:33]), "ABCD", []byte("x"))
		return append(b, good[33:]...)
	}()
	zeroLength := func() []byte {
		b := bytes.Clone(good)
		binary.BigEndian.PutUint32(b[16:], 0)
		return b
	}()

	for _, c := range []struct {
		name string
		data []byte
		want error
		// imagePNGDecodes says image/png decodes it: a documented
		// difference.
		imagePNGDecodes bool
	}{
		{"empty", nil, io.ErrUnexpectedEOF, false},
		{"not a PNG", []byte("GIF89a and then some"), pngscale.ErrCorrupt, false},
		{"truncated in IDAT", good[:idat+200], io.ErrUnexpectedEOF, false},
		{"truncated before IEND", good[:len(good)-12], io.ErrUnexpectedEOF, false},
		{"truncated zlib stream", base.fileWith(compress(raw)[:300]), io.ErrUnexpectedEOF, false},
		{"bad IHDR CRC", flip(good, 29), pngscale.ErrCorrupt, false},
		{"bad IDAT CRC", flip(good, idat+50), pngscale.ErrCorrupt, false},
		{"bad filter byte", base.fileWith(compress(badFilter)), pngscale.ErrCorrupt, false},
		{"IHDR says more rows than the data", withIHDR(spec{w: 37, h: 30, depth: 8, ctype: 6}), io.ErrUnexpectedEOF, false},
		{"IHDR says fewer rows than the data", withIHDR(spec{w: 37, h: 28, depth: 8, ctype: 6}), pngscale.ErrCorrupt, false},
		{"IHDR says wider than the data", withIHDR(spec{w: 38, h: 29, depth: 8, ctype: 6}), pngscale.ErrCorrupt, false},
		{"too much pixel data", tooMuch, pngscale.ErrCorrupt, false},
		{"zero width", zeroLength, pngscale.ErrCorrupt, false},
		{"huge dimensions", huge.fileWith(compress(raw)), pngscale.ErrTooLarge, false},
		{"missing PLTE", noPLTE.file(), pngscale.ErrCorrupt, false},
		{"bad bit depth", withIHDR(spec{w: 37, h: 29, depth: 4, ctype: 6}), pngscale.ErrUnsupported, false},
		{"unknown critical chunk", unknownCritical, pngscale.ErrUnsupported, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := pngscale.Decode(c.data, 2, 1<<20)
			if !errors.Is(err, c.want) {
				t.Errorf("pngscale: %v, want %v", err, c.want)
			}
			if errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, pngscale.ErrCorrupt) {
				t.Errorf("pngscale: cut short but not ErrCorrupt: %v", err)
			}
			if c.want == pngscale.ErrTooLarge {
				return // image/png would allocate it
			}
			_, ierr := png.Decode(bytes.NewReader(c.data))
			if (ierr == nil) != c.imagePNGDecodes {
				t.Errorf("image/png: %v", ierr)
			}
		})
	}
}

// TestAcceptedLikeImagePNG covers what image/png accepts though it bends
// the format, which Decode must accept alike.
func TestAcceptedLikeImagePNG(t *testing.T) {
	base := spec{w: 37, h: 29, depth: 8, ctype: 2, seed: 8}
	good := base.file()
	iend := len(good) - 12
	garbageInIDAT := base.fileWith(append(compress(base.imageData()), "garbage"...))
	trailingIDAT := append(chunk(bytes.Clone(good[:iend]), "IDAT", []byte("garbage")), good[iend:]...)
	ancillary := func() []byte {
		b := chunk(bytes.Clone(good[:33]), "abCD", []byte("skip me"))
		return append(b, good[33:]...)
	}()
	afterIEND := append(bytes.Clone(good), "trailing bytes"...)
	outOfRange := spec{w: 16, h: 4, depth: 4, ctype: 3, npal: 3, maxIndex: 15, seed: 9}
	longTRNS := spec{w: 16, h: 4, depth: 8, ctype: 3, npal: 3, maxIndex: 5, trns: []byte{1, 2, 3, 4, 5}, seed: 10}
	for _, c := range []struct {
		name string
		data []byte
	}{
		{"a garbage IDAT chunk after the image data", trailingIDAT},
		{"garbage after the zlib stream, in its IDAT chunk", garbageInIDAT},
		{"an unknown ancillary chunk", ancillary},
		{"bytes after IEND", afterIEND},
		{"palette indexes past the palette (opaque black)", outOfRange.file()},
		{"tRNS longer than the palette", longTRNS.file()},
		{"many tiny IDAT chunks", spec{w: 37, h: 29, depth: 8, ctype: 2, seed: 8, idatSize: 1}.file()},
	} {
		t.Run(c.name, func(t *testing.T) {
			pix, w, h, wide := reference(t, c.data)
			got, err := pngscale.Decode(c.data, 1, 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			if d, at := diff(got.Image, exact(pix, w, h, wide)); d != 0 {
				t.Errorf("off by %d at %v", d, at)
			}
		})
	}
}
