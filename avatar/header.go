package avatar

import (
	"encoding/binary"
	"fmt"
	"image"
)

// header is what Make checks before any decoder sees the pixels.
type header struct {
	width, height int
	frames        int          // 1 but for GIF, where every frame is counted
	scans         int          // JPEG: scans counted, up to one over maxJPEGScans
	config        image.Config // for the Go decoders; zero for HEIF
	heif          heifInfo     // HEIF: the container's items, tiles, thumbnails
}

// readHeader reads the size of the picture in data in Go, for both
// backends: a limit is only as good as the parser that reads the number it
// is checked against, and Go's parsers are memory-safe. For GIF, every
// frame header is walked too, since libvips' GIF loader scans them all and
// (as old browsers did) grows the picture to fit a frame that overhangs it.
func readHeader(f format, data []byte) (header, error) {
	switch f {
	case formatHEIC, formatAVIF:
		info, err := parseHEIF(data)
		if err != nil {
			return header{}, fmt.Errorf("avatar: %s header: %s: %w", f, err, ErrCorrupt)
		}
		return header{width: info.width, height: info.height, frames: 1, heif: info}, nil
	}
	cfg, err := decodeConfig(f, data)
	if err != nil {
		return header{}, err
	}
	h := header{width: cfg.Width, height: cfg.Height, frames: 1, config: cfg}
	if f == formatJPEG {
		h.scans = jpegScans(data, maxJPEGScans)
	}
	if f == formatGIF {
		n, err := gifFrames(data, cfg.Width, cfg.Height)
		if err != nil {
			return header{}, fmt.Errorf("avatar: GIF: %s: %w", err, ErrCorrupt)
		}
		h.frames = n
	}
	return h, nil
}

// gifFrames counts the frames of a GIF by walking its blocks without
// decompressing any, and checks that each frame lies within the logical
// screen of w x h. A file cut short ends the count: the decoder says
// whether the first frame is whole.
func gifFrames(b []byte, w, h int) (int, error) {
	i := 13 // header and logical screen descriptor
	if len(b) < i {
		return 0, nil
	}
	if b[10]&0x80 != 0 {
		i += 3 << (b[10]&7 + 1)
	}
	// skip passes over data sub-blocks, each a length byte and that many
	// bytes, up to the empty one.
	skip := func() bool {
		for i < len(b) {
			n := int(b[i])
			i += 1 + n
			if n == 0 {
				return true
			}
		}
		return false
	}
	frames := 0
	for i < len(b) {
		switch b[i] {
		case 0x21: // extension: label, then sub-blocks
			i += 2
			if !skip() {
				return frames, nil
			}
		case 0x2c: // image descriptor
			if i+10 > len(b) {
				return frames, nil
			}
			x := int(binary.LittleEndian.Uint16(b[i+1:]))
			y := int(binary.LittleEndian.Uint16(b[i+3:]))
			fw := int(binary.LittleEndian.Uint16(b[i+5:]))
			fh := int(binary.LittleEndian.Uint16(b[i+7:]))
			if x+fw > w || y+fh > h {
				return 0, fmt.Errorf("frame %d at %d,%d of %dx%d overhangs the %dx%d picture", frames+1, x, y, fw, fh, w, h)
			}
			frames++
			packed := b[i+9]
			i += 10
			if packed&0x80 != 0 {
				i += 3 << (packed&7 + 1)
			}
			i++ // LZW minimum code size
			if !skip() {
				return frames, nil
			}
		default: // trailer, or bytes after the picture
			return frames, nil
		}
	}
	return frames, nil
}

// childBox returns the body of the first ISO BMFF box of type typ in b.
func childBox(b []byte, typ string) ([]byte, bool) {
	for t, body := range boxes(b) {
		if t == typ {
			return body, true
		}
	}
	return nil, false
}

// boxes yields the type and body of each ISO BMFF box in b, stopping at
// the first one whose size does not fit.
func boxes(b []byte) func(yield func(string, []byte) bool) {
	return func(yield func(string, []byte) bool) {
		for len(b) >= 8 {
			size, hdr := uint64(binary.BigEndian.Uint32(b)), uint64(8)
			switch size {
			case 0: // to the end
				size = uint64(len(b))
			case 1: // 64-bit size follows the type
				if len(b) < 16 {
					return
				}
				size, hdr = binary.BigEndian.Uint64(b[8:]), 16
			}
			if size < hdr || size > uint64(len(b)) {
				return
			}
			if !yield(string(b[4:8]), b[hdr:size]) {
				return
			}
			b = b[size:]
		}
	}
}
