package pngscale

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"image"
	"io"
)

var (
	// ErrUnsupported is returned for what PNG allows but this decoder
	// does not read: compression and filter methods other than 0, unknown
	// critical chunks.
	ErrUnsupported = errors.New("unsupported PNG")
	// ErrCorrupt is returned for data that breaks the format; a file cut
	// short is ErrCorrupt and io.ErrUnexpectedEOF.
	ErrCorrupt = errors.New("corrupt PNG")
	// ErrTooLarge is returned for a header over the caller's pixel count.
	ErrTooLarge = errors.New("PNG too large")
)

// Picture is a PNG decoded at a reduced size.
type Picture struct {
	Image *image.NRGBA
	// ICC is the picture's iCCP profile, inflated, or nil: the numbers in
	// Image are in its colour space, which the caller may convert.
	ICC []byte
	// Opaque says the PNG cannot hold transparency (no alpha channel, no
	// tRNS), so every pixel of Image has alpha 255.
	Opaque bool
}

// Scale returns the largest block side k that keeps a side of side pixels
// at least want pixels long once reduced (to ceil(side/k)), at least 1.
func Scale(side, want int) int {
	if want < 1 {
		return 1
	}
	return max(1, side/want)
}

// maxICC bounds the inflated iCCP profile: real ones are a few KB, rarely
// over a megabyte, and the bytes come from strangers.
const maxICC = 4 << 20

// Colour types (PNG 1.2, section 4.1.1).
const (
	ctGrey      = 0
	ctRGB       = 2
	ctPalette   = 3
	ctGreyAlpha = 4
	ctRGBA      = 6
)

// Where decoding stands in the chunk sequence, as image/png tracks it, so
// that the same orders are refused.
const (
	stageStart = iota
	stageIHDR
	stagePLTE
	stageTRNS
	stageIDAT
	stageIEND
)

type decoder struct {
	width, height int
	depth, ctype  int
	interlaced    bool
	scale         int

	// palette holds NRGBA entries; those past PLTE's are opaque black, as
	// in image/png (and libpng), for indexes past the palette.
	palette [256][4]uint8
	// trns is the tRNS chunk of a grey or RGB picture.
	trns    [6]byte
	hasTRNS bool
	// paletteAlpha says some palette entry is not opaque.
	paletteAlpha bool

	idat [][]byte // the first run of IDAT chunks' data
	icc  []byte
}

// Decode decodes a PNG at 1/scale of its size: the result is
// ceil(w/scale) x ceil(h/scale), each pixel the alpha-weighted average of
// the scale x scale pixels it stands for (fewer in the last row and
// column when the size is not a multiple of scale). At scale 1 it holds
// the pixels image/png decodes, 16-bit samples cut to 8 bits as
// image/color does. A header over maxPixels is refused with ErrTooLarge
// before anything is allocated.
func Decode(data []byte, scale int, maxPixels int64) (Picture, error) {
	if scale < 1 {
		return Picture{}, fmt.Errorf("pngscale: scale 1/%d: %w", scale, ErrUnsupported)
	}
	d := &decoder{scale: scale}
	if err := d.readChunks(data, maxPixels); err != nil {
		return Picture{}, err
	}
	img, err := d.decodeImage()
	if err != nil {
		return Picture{}, err
	}
	return Picture{Image: img, ICC: d.icc, Opaque: !d.hasAlpha()}, nil
}

func (d *decoder) hasAlpha() bool {
	switch d.ctype {
	case ctGreyAlpha, ctRGBA:
		return true
	case ctPalette:
		return d.paletteAlpha
	}
	return d.hasTRNS
}

func truncated(what string) error {
	return fmt.Errorf("pngscale: %s: %w: %w", what, ErrCorrupt, io.ErrUnexpectedEOF)
}

func corrupt(format string, args ...any) error {
	return fmt.Errorf("pngscale: "+format+": %w", append(args, ErrCorrupt)...)
}

// readChunks walks the chunks up to IEND, checking their CRCs and order
// as image/png does, and keeps what decoding needs. The image data stays
// where it is in data: only its chunks' slices are kept.
func (d *decoder) readChunks(data []byte, maxPixels int64) error {
	const signature = "\x89PNG\r\n\x1a\n"
	if len(data) < len(signature) {
		return truncated("signature")
	}
	if string(data[:len(signature)]) != signature {
		return corrupt("not a PNG file")
	}
	stage := stageStart
	inIDATRun := false
	for i := len(signature); stage != stageIEND; {
		if len(data)-i < 8 {
			return truncated("chunk header")
		}
		length := binary.BigEndian.Uint32(data[i:])
		typ := string(data[i+4 : i+8])
		if length > 0x7fffffff {
			return corrupt("%q chunk length %d", typ, length)
		}
		n := int(length)
		if len(data)-i-8 < n+4 {
			return truncated(typ + " chunk")
		}
		body := data[i+8 : i+8+n]
		if crc32.ChecksumIEEE(data[i+4:i+8+n]) != binary.BigEndian.Uint32(data[i+8+n:]) {
			return corrupt("%q chunk: invalid checksum", typ)
		}
		i += 12 + n
		wasIDAT := inIDATRun
		inIDATRun = false
		var err error
		switch typ {
		case "IHDR":
			if stage != stageStart {
				return corrupt("IHDR: chunk out of order")
			}
			stage = stageIHDR
			err = d.parseIHDR(body, maxPixels)
		case "PLTE":
			if stage != stageIHDR {
				return corrupt("PLTE: chunk out of order")
			}
			stage = stagePLTE
			err = d.parsePLTE(body)
		case "tRNS":
			if !d.trnsInOrder(stage) {
				return corrupt("tRNS: chunk out of order")
			}
			stage = stageTRNS
			err = d.parseTRNS(body)
		case "IDAT":
			if stage < stageIHDR || stage > stageIDAT || stage == stageIHDR && d.ctype == ctPalette {
				return corrupt("IDAT: chunk out of order")
			}
			// Only the first run of IDAT chunks is the image data;
			// image/png skips later ones as trailing garbage.
			if stage != stageIDAT || wasIDAT {
				d.idat = append(d.idat, body)
				inIDATRun = true
			}
			stage = stageIDAT
		case "IEND":
			if stage != stageIDAT {
				return corrupt("IEND: chunk out of order")
			}
			if n != 0 {
				return corrupt("bad IEND length")
			}
			stage = stageIEND
		case "iCCP":
			if d.icc == nil && stage >= stageIHDR && stage < stageIDAT {
				d.icc = inflateICC(body)
			}
		default:
			if typ[0]&0x20 == 0 {
				return fmt.Errorf("pngscale: unknown critical chunk %q: %w", typ, ErrUnsupported)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (d *decoder) trnsInOrder(stage int) bool {
	switch d.ctype {
	case ctPalette:
		return stage == stagePLTE
	case ctRGB, ctRGBA:
		return stage == stageIHDR || stage == stagePLTE
	}
	return stage == stageIHDR
}

func (d *decoder) parseIHDR(b []byte, maxPixels int64) error {
	if len(b) != 13 {
		return corrupt("bad IHDR length")
	}
	if b[10] != 0 {
		return fmt.Errorf("pngscale: compression method %d: %w", b[10], ErrUnsupported)
	}
	if b[11] != 0 {
		return fmt.Errorf("pngscale: filter method %d: %w", b[11], ErrUnsupported)
	}
	if b[12] > 1 {
		return corrupt("invalid interlace method %d", b[12])
	}
	d.interlaced = b[12] == 1
	w, h := int32(binary.BigEndian.Uint32(b)), int32(binary.BigEndian.Uint32(b[4:]))
	if w <= 0 || h <= 0 {
		return corrupt("non-positive dimension %dx%d", w, h)
	}
	d.depth, d.ctype = int(b[8]), int(b[9])
	ok := false
	switch d.ctype {
	case ctGrey:
		ok = d.depth == 1 || d.depth == 2 || d.depth == 4 || d.depth == 8 || d.depth == 16
	case ctPalette:
		ok = d.depth == 1 || d.depth == 2 || d.depth == 4 || d.depth == 8
	case ctRGB, ctGreyAlpha, ctRGBA:
		ok = d.depth == 8 || d.depth == 16
	}
	if !ok {
		return fmt.Errorf("pngscale: bit depth %d, colour type %d: %w", d.depth, d.ctype, ErrUnsupported)
	}
	if int64(w)*int64(h) > maxPixels {
		return fmt.Errorf("pngscale: %dx%d is over %d pixels: %w", w, h, maxPixels, ErrTooLarge)
	}
	d.width, d.height = int(w), int(h)
	return nil
}

func (d *decoder) parsePLTE(b []byte) error {
	np := len(b) / 3
	if len(b)%3 != 0 || np <= 0 || np > 256 || np > 1<<d.depth {
		return corrupt("bad PLTE length %d", len(b))
	}
	switch d.ctype {
	case ctPalette:
		for i := range d.palette {
			d.palette[i] = [4]uint8{0, 0, 0, 0xff}
		}
		for i := range np {
			d.palette[i] = [4]uint8{b[3*i], b[3*i+1], b[3*i+2], 0xff}
		}
	case ctRGB, ctRGBA:
		// Optional and ignorable for true colour (section 4.1.2).
	default:
		return corrupt("PLTE in colour type %d", d.ctype)
	}
	return nil
}

func (d *decoder) parseTRNS(b []byte) error {
	switch d.ctype {
	case ctGrey:
		if len(b) != 2 {
			return corrupt("bad tRNS length %d", len(b))
		}
		copy(d.trns[:], b)
		// image/png compares 1-, 2- and 4-bit samples scaled to 8 bits
		// with the low byte scaled alike (modulo 256).
		switch d.depth {
		case 1:
			d.trns[1] *= 0xff
		case 2:
			d.trns[1] *= 0x55
		case 4:
			d.trns[1] *= 0x11
		}
		d.hasTRNS = true
	case ctRGB:
		if len(b) != 6 {
			return corrupt("bad tRNS length %d", len(b))
		}
		copy(d.trns[:], b)
		d.hasTRNS = true
	case ctPalette:
		if len(b) > 256 {
			return corrupt("bad tRNS length %d", len(b))
		}
		for i, a := range b {
			d.palette[i][3] = a
			if a != 0xff {
				d.paletteAlpha = true
			}
		}
	default:
		return corrupt("tRNS in colour type %d", d.ctype)
	}
	return nil
}

// inflateICC returns the profile of an iCCP chunk, or nil for one that
// does not inflate or is too large: a broken profile is ignored, as
// browsers do, rather than refusing the picture.
func inflateICC(b []byte) []byte {
	nul := bytes.IndexByte(b, 0)
	if nul < 1 || nul > 79 || len(b) < nul+2 || b[nul+1] != 0 {
		return nil
	}
	r, err := zlib.NewReader(bytes.NewReader(b[nul+2:]))
	if err != nil {
		return nil
	}
	icc, err := io.ReadAll(io.LimitReader(r, maxICC+1))
	if err != nil || len(icc) > maxICC || len(icc) == 0 {
		return nil
	}
	return icc
}
