package jpegscale

import (
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"runtime"
)

var (
	// ErrUnsupported is returned for what this decoder does not do:
	// arithmetic coding, lossless and hierarchical JPEG, 12-bit samples,
	// unusual component layouts, a scale other than 2, 4 or 8. The caller
	// can still try image/jpeg.
	ErrUnsupported = errors.New("unsupported JPEG")
	// ErrCorrupt is returned for data that breaks the format.
	ErrCorrupt = errors.New("corrupt JPEG")
)

// Decode decodes data at 1/scale of its size (scale 2, 4 or 8): the result
// is ceil(w/scale) x ceil(h/scale), each sample the average of the
// scale x scale samples it stands for (in the last row and column, if the
// size is not a multiple of scale, of the encoder's padding too, which is
// normally the edge repeated). It is an *image.YCbCr for YCbCr
// with a standard subsampling, an *image.Gray for one component, an
// *image.CMYK for four (Adobe inverted CMYK or YCCK, as image/jpeg reads
// them) and an *image.RGBA for RGB (Adobe transform 0, or components named
// 'R', 'G', 'B' without JFIF).
//
// A picture cut short decodes without error: what arrived keeps its
// pixels, the rest is flat (missing progressive scans leave the detail
// they would have added out).
func Decode(data []byte, scale int) (image.Image, error) {
	if scale != 2 && scale != 4 && scale != 8 {
		return nil, fmt.Errorf("jpegscale: scale 1/%d: %w", scale, ErrUnsupported)
	}
	d := newDecoder(data, scale, runtime.GOMAXPROCS(0))
	err := d.decode()
	if errors.Is(err, errSequential) {
		d = newDecoder(data, scale, 1)
		err = d.decode()
	}
	if err != nil {
		return nil, err
	}
	return d.image()
}

// newDecoder returns a decoder that decodes a progressive picture's
// scans on up to workers goroutines.
func newDecoder(data []byte, scale, workers int) *decoder {
	d := &decoder{data: data, scale: scale, side: 8 / scale, workers: workers}
	d.initTransform()
	return d
}

// Scale returns the largest of 8, 4 and 2 that keeps a side of side pixels
// at least want pixels long once reduced (to ceil(side/scale)), or 1 if
// none does; Decode refuses 1 with ErrUnsupported, sending the caller to
// image/jpeg as for any other picture it does not take.
func Scale(side, want int) int {
	for s := 8; s >= 2; s /= 2 {
		if (side+s-1)/s >= want {
			return s
		}
	}
	return 1
}

// Markers (T.81 Table B.1) that this decoder acts on.
const (
	markerSOF0 = 0xc0 // baseline
	markerSOF1 = 0xc1 // extended sequential, Huffman
	markerSOF2 = 0xc2 // progressive, Huffman
	markerDHT  = 0xc4
	markerJPG  = 0xc8
	markerDAC  = 0xcc
	markerSOF  = 0xc0 // SOF0..SOF15, less DHT, JPG and DAC
	markerRST0 = 0xd0
	markerRST7 = 0xd7
	markerSOI  = 0xd8
	markerEOI  = 0xd9
	markerSOS  = 0xda
	markerDQT  = 0xdb
	markerDRI  = 0xdd
	markerDHP  = 0xde
	markerEXP  = 0xdf
	markerAPP0 = 0xe0
	markerAPPE = 0xee
	markerTEM  = 0x01
)

type component struct {
	id   byte
	h, v int // sampling factors
	tq   int // quantisation table selector
	// bw x bh blocks fill whole MCUs; a scan of this component alone
	// covers only the cw x ch blocks that hold picture samples (T.81
	// A.2.2).
	bw, bh, cw, ch int
	// plane holds the reduced samples, side x side per block, stride
	// bw*side.
	plane  []byte
	stride int
	// coef keeps a progressive picture's coefficients until the last
	// scan, only those the reduced transform uses (xform.kept per block,
	// in zigzag order: the DC alone at 1/8). nz has a bit per zigzag
	// index and block for every coefficient that is non-zero, kept or
	// not: refinement scans code their bits by that history. At 1/8 no AC
	// scan is read and nz is nil.
	coef []int16
	nz   []uint64
	// q is the quantisation table in zigzag order, taken when the
	// component's first scan starts, as libjpeg does: a later DQT with the
	// same number is meant for other components.
	q       [64]int32
	latched bool
	scanned bool
	// Per-scan state.
	pred   int32
	dc, ac *huffTable
}

type decoder struct {
	data []byte
	pos  int // next byte to read

	// The bit buffer: nbits bits, most significant first, of which the
	// last pad are zeros made up after the entropy-coded data ended.
	acc         uint64
	nbits, pad  uint
	end         bool // the entropy-coded data ended at pos
	starved     bool // the current restart interval ran out of data
	eobrun      int
	ss, se      int  // spectral band of the current progressive scan
	al          uint // its successive-approximation bit position
	scale, side int  // side = samples per block side after reduction

	frame, progressive bool
	width, height      int
	hmax, vmax         int
	mcusX, mcusY       int
	nf                 int
	comps              [4]component
	quant              [4]struct {
		defined bool
		q       [64]int32 // zigzag order
	}
	dcTables, acTables [4]*huffTable // nil until defined
	restartInterval    int
	scans              int
	jfif, adobe        bool
	adobeTransform     byte

	xform xform
	blk   [64]int32 // one block being decoded, natural order, dequantised

	// With more than one worker, a progressive picture's scans are read
	// up to the end of the data first and decoded afterwards, on up to
	// that many goroutines (see runScans); jobs holds them meanwhile.
	workers int
	jobs    []*scanJob
	job     *scanJob // in a copy made for a deferred scan, that scan
}

// decode reads segments up to EOI or the end of the data; entropy-coded
// data is consumed by the scans.
func (d *decoder) decode() error {
	if len(d.data) < 2 || d.data[0] != 0xff || d.data[1] != markerSOI {
		return fmt.Errorf("jpegscale: no SOI marker: %w", ErrCorrupt)
	}
	err := d.segments()
	if len(d.jobs) > 0 && !errors.Is(err, errSequential) {
		// The deferred scans all come before whatever segments found
		// wrong, so an error of theirs is the one to report, as when
		// each scan is decoded on the spot.
		if scanErr := d.runScans(); scanErr != nil {
			return scanErr
		}
	}
	if err != nil {
		return err
	}
	if !d.frame {
		return fmt.Errorf("jpegscale: no SOF marker: %w", ErrCorrupt)
	}
	if d.scans == 0 {
		return fmt.Errorf("jpegscale: no SOS marker: %w", ErrCorrupt)
	}
	if d.progressive {
		d.transformCoefficients()
	} else {
		// A component that no scan reached (a file cut short between
		// non-interleaved scans) is flat, as if all its coefficients
		// were zero.
		for i := range d.nf {
			if c := &d.comps[i]; !c.scanned {
				for j := range c.plane {
					c.plane[j] = 128
				}
			}
		}
	}
	return nil
}

// segments reads the segments after SOI, up to EOI or the end of the
// data.
func (d *decoder) segments() error {
	d.pos = 2
loop:
	for {
		at, m := nextMarker(d.data, d.pos)
		if at < 0 {
			break // cut short: keep what arrived
		}
		d.pos = at + 2
		switch {
		case m == markerEOI:
			break loop
		case m >= markerRST0 && m <= markerRST7, m == markerSOI, m == markerTEM:
			// No length follows. A stray RST after a scan's last interval
			// is harmless; so is a repeated SOI.
			continue
		case m < markerSOF && len(d.jobs) > 0:
			// Taken for a segment here, but passed over by restart
			// within a scan's data: where a deferred scan ends, and so
			// which segment comes next, only decoding it would tell.
			// Real files have no such markers.
			return errSequential
		}
		if d.pos+2 > len(d.data) {
			break
		}
		n := int(binary.BigEndian.Uint16(d.data[d.pos:]))
		if n < 2 {
			return fmt.Errorf("jpegscale: marker %#02x: segment length %d: %w", m, n, ErrCorrupt)
		}
		if d.pos+n > len(d.data) {
			break // cut short inside a segment
		}
		seg := d.data[d.pos+2 : d.pos+n]
		d.pos += n
		var err error
		switch {
		case m == markerSOF0, m == markerSOF1:
			err = d.sof(seg, false)
		case m == markerSOF2:
			err = d.sof(seg, true)
		case m == markerDHT:
			err = d.dht(seg)
		case m == markerDQT:
			err = d.dqt(seg)
		case m == markerDRI:
			err = d.dri(seg)
		case m == markerSOS:
			err = d.sos(seg)
		case m == markerAPP0:
			d.jfif = d.jfif || string(seg[:min(5, len(seg))]) == "JFIF\x00"
		case m == markerAPPE:
			if len(seg) >= 12 && string(seg[:5]) == "Adobe" {
				d.adobe, d.adobeTransform = true, seg[11]
			}
		case m&0xf0 == markerSOF, m == markerDHP, m == markerEXP:
			err = fmt.Errorf("jpegscale: %s: %w", sofName(m), ErrUnsupported)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func sofName(m byte) string {
	switch m {
	case 0xc3, 0xc7, 0xcb, 0xcf:
		return "lossless JPEG"
	case 0xc5, 0xc6, 0xcd, 0xce, markerDHP, markerEXP:
		return "hierarchical JPEG"
	case 0xc9, 0xca, markerDAC:
		return "arithmetic coding"
	case markerJPG:
		return "JPG extension marker"
	}
	return fmt.Sprintf("SOF marker %#02x", m)
}

// sof reads the frame header (T.81 B.2.2) and allocates everything the
// picture needs.
func (d *decoder) sof(seg []byte, progressive bool) error {
	if d.frame {
		return fmt.Errorf("jpegscale: second SOF marker: %w", ErrCorrupt)
	}
	if len(seg) < 6 {
		return fmt.Errorf("jpegscale: SOF: %d bytes: %w", len(seg), ErrCorrupt)
	}
	if seg[0] != 8 {
		return fmt.Errorf("jpegscale: %d-bit samples: %w", seg[0], ErrUnsupported)
	}
	d.height = int(binary.BigEndian.Uint16(seg[1:]))
	d.width = int(binary.BigEndian.Uint16(seg[3:]))
	d.nf = int(seg[5])
	switch {
	case d.height == 0:
		return fmt.Errorf("jpegscale: height set by DNL: %w", ErrUnsupported)
	case d.width == 0:
		return fmt.Errorf("jpegscale: width 0: %w", ErrCorrupt)
	case d.nf != 1 && d.nf != 3 && d.nf != 4:
		return fmt.Errorf("jpegscale: %d components: %w", d.nf, ErrUnsupported)
	case len(seg) != 6+3*d.nf:
		return fmt.Errorf("jpegscale: SOF: %d bytes for %d components: %w", len(seg), d.nf, ErrCorrupt)
	}
	d.hmax, d.vmax = 1, 1
	for i := range d.nf {
		c := &d.comps[i]
		p := seg[6+3*i:]
		c.id, c.h, c.v, c.tq = p[0], int(p[1]>>4), int(p[1]&15), int(p[2])
		if c.h < 1 || c.h > 4 || c.v < 1 || c.v > 4 {
			return fmt.Errorf("jpegscale: component %d: sampling factors %dx%d: %w", c.id, c.h, c.v, ErrCorrupt)
		}
		if c.tq > 3 {
			return fmt.Errorf("jpegscale: component %d: quantisation table %d: %w", c.id, c.tq, ErrCorrupt)
		}
		for j := range i {
			if d.comps[j].id == c.id {
				return fmt.Errorf("jpegscale: component %d twice: %w", c.id, ErrCorrupt)
			}
		}
		d.hmax, d.vmax = max(d.hmax, c.h), max(d.vmax, c.v)
	}
	if err := d.checkLayout(); err != nil {
		return err
	}
	d.frame, d.progressive = true, progressive
	d.mcusX = ceilDiv(d.width, 8*d.hmax)
	d.mcusY = ceilDiv(d.height, 8*d.vmax)
	for i := range d.nf {
		c := &d.comps[i]
		c.bw, c.bh = d.mcusX*c.h, d.mcusY*c.v
		c.cw = ceilDiv(ceilDiv(d.width*c.h, d.hmax), 8)
		c.ch = ceilDiv(ceilDiv(d.height*c.v, d.vmax), 8)
		c.stride = c.bw * d.side
		c.plane = make([]byte, c.stride*c.bh*d.side)
		if progressive {
			c.coef = make([]int16, c.bw*c.bh*d.xform.kept)
			if d.scale != 8 {
				c.nz = make([]uint64, c.bw*c.bh)
			}
		}
	}
	return nil
}

func ceilDiv(a, b int) int { return (a + b - 1) / b }

// dqt reads quantisation tables (T.81 B.2.4.1).
func (d *decoder) dqt(seg []byte) error {
	for len(seg) > 0 {
		pq, tq := seg[0]>>4, seg[0]&15
		if pq > 1 || tq > 3 {
			return fmt.Errorf("jpegscale: DQT: precision %d, table %d: %w", pq, tq, ErrCorrupt)
		}
		n := 64 * (1 + int(pq))
		if len(seg) < 1+n {
			return fmt.Errorf("jpegscale: DQT: table %d cut short: %w", tq, ErrCorrupt)
		}
		t := &d.quant[tq]
		t.defined = true
		for k := range t.q {
			if pq == 0 {
				t.q[k] = int32(seg[1+k])
			} else {
				t.q[k] = int32(binary.BigEndian.Uint16(seg[1+2*k:]))
			}
		}
		seg = seg[1+n:]
	}
	return nil
}

// dht reads Huffman tables (T.81 B.2.4.2).
func (d *decoder) dht(seg []byte) error {
	for len(seg) > 0 {
		if len(seg) < 17 {
			return fmt.Errorf("jpegscale: DHT: cut short: %w", ErrCorrupt)
		}
		tc, th := seg[0]>>4, seg[0]&15
		if tc > 1 || th > 3 {
			return fmt.Errorf("jpegscale: DHT: class %d, table %d: %w", tc, th, ErrCorrupt)
		}
		total := 0
		for _, n := range seg[1:17] {
			total += int(n)
		}
		if total > 256 || len(seg) < 17+total {
			return fmt.Errorf("jpegscale: DHT: %d codes: %w", total, ErrCorrupt)
		}
		t := new(huffTable)
		if err := t.build(seg[1:17], seg[17:17+total], tc == 1); err != nil {
			return err
		}
		if tc == 0 {
			d.dcTables[th] = t
		} else {
			d.acTables[th] = t
		}
		seg = seg[17+total:]
	}
	return nil
}

// dri reads the restart interval (T.81 B.2.4.4).
func (d *decoder) dri(seg []byte) error {
	if len(seg) != 2 {
		return fmt.Errorf("jpegscale: DRI: %d bytes: %w", len(seg), ErrCorrupt)
	}
	d.restartInterval = int(binary.BigEndian.Uint16(seg))
	return nil
}
