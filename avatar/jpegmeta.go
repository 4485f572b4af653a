package avatar

import (
	"bytes"
	"encoding/binary"
)

// jpegICC returns the ICC profile a JPEG carries in its APP2 segments
// (ICC.1 annex B.4: one profile cut into numbered chunks), or nil when
// there is none or the chunks do not make one whole.
func jpegICC(data []byte) []byte {
	const tag = "ICC_PROFILE\x00"
	var chunks [][]byte
	for seg := range jpegSegments(data) {
		if seg[1] == 0xda {
			break
		}
		body := seg[4:]
		if seg[1] != 0xe2 || !bytes.HasPrefix(body, []byte(tag)) || len(body) < len(tag)+2 {
			continue
		}
		seq, count := int(body[len(tag)]), int(body[len(tag)+1])
		if count == 0 || seq == 0 || seq > count {
			return nil
		}
		if chunks == nil {
			chunks = make([][]byte, count)
		}
		if len(chunks) != count || chunks[seq-1] != nil {
			return nil
		}
		chunks[seq-1] = body[len(tag)+2:]
	}
	if chunks == nil {
		return nil
	}
	for _, c := range chunks {
		if c == nil {
			return nil
		}
	}
	return bytes.Join(chunks, nil)
}

// jpegSegments yields each marker segment before the entropy-coded data,
// from its 0xFF to its end (SOS included, as 0xFF 0xDA with its header).
// Standalone markers (RSTn, TEM) and fill bytes are passed over; a length
// that runs past the data ends the walk.
func jpegSegments(data []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		if len(data) < 2 || data[0] != 0xff || data[1] != 0xd8 {
			return
		}
		i := 2
		for i+4 <= len(data) {
			if data[i] != 0xff {
				return
			}
			m := data[i+1]
			if m == 0xff {
				i++ // fill byte
				continue
			}
			if m == 0x01 || m >= 0xd0 && m <= 0xd7 {
				i += 2
				continue
			}
			n := int(binary.BigEndian.Uint16(data[i+2:]))
			if n < 2 || i+2+n > len(data) {
				return
			}
			if !yield(data[i:i+2+n]) || m == 0xda {
				return
			}
			i += 2 + n
		}
	}
}

// maxJPEGScans bounds the scans of a JPEG. Each scan walks every block of
// its components whatever its data holds, so a file of a few megabytes
// made of empty scans would keep any decoder (ours, image/jpeg, libjpeg)
// busy for minutes. Encoders write 1 (sequential), 3 (one per component)
// or about 10 (progressive; optimisers a few more).
const maxJPEGScans = 100

// jpegScans counts the scans (SOS markers) of a JPEG up to its end of
// image, passing over their entropy-coded data by looking for the next
// marker, and stops counting past limit. Segments are walked by their
// lengths, so a thumbnail inside EXIF or a picture appended after the end
// (an HDR gain map) is not counted.
func jpegScans(data []byte, limit int) int {
	n := 0
	i := 2
	for i+4 <= len(data) && n <= limit && data[i] == 0xff {
		m := data[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xd9: // end of image
			return n
		case m == 0x01 || m >= 0xd0 && m <= 0xd7:
			i += 2
			continue
		}
		l := int(binary.BigEndian.Uint16(data[i+2:]))
		if l < 2 {
			return n
		}
		i += 2 + l
		if m != 0xda {
			continue
		}
		n++
		// The scan's data ends at the first 0xFF followed by neither a
		// stuffed 0x00, a restart marker nor another 0xFF.
		for i+1 < len(data) {
			k := bytes.IndexByte(data[i:], 0xff)
			if k < 0 || i+k+1 >= len(data) {
				return n
			}
			i += k
			next := data[i+1]
			if next == 0xff {
				i++
				continue
			}
			if next == 0x00 || next >= 0xd0 && next <= 0xd7 {
				i += 2
				continue
			}
			break
		}
	}
	return n
}
