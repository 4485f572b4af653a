package avatar

import (
	"encoding/binary"
	"image"

	"github.com/disintegration/imaging"
)

// exifOrientation returns the EXIF Orientation (1..8) of a JPEG, or 1 when
// there is none or it cannot be read: a picture shown unrotated is better
// than a refused one. Only the markers before the scan are walked, and every
// offset is bounds-checked, because the bytes come from strangers.
func exifOrientation(jpg []byte) int {
	const (
		markerSOS  = 0xda
		markerEOI  = 0xd9
		markerAPP1 = 0xe1
	)
	i := 2 // after SOI
	for i+4 <= len(jpg) {
		if jpg[i] != 0xff {
			return 1
		}
		marker := jpg[i+1]
		if marker == 0xff { // fill byte before a marker
			i++
			continue
		}
		if marker == markerSOS || marker == markerEOI {
			return 1
		}
		if marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7) { // no length
			i += 2
			continue
		}
		n := int(binary.BigEndian.Uint16(jpg[i+2:]))
		if n < 2 || i+2+n > len(jpg) {
			return 1
		}
		seg := jpg[i+4 : i+2+n]
		if marker == markerAPP1 && len(seg) >= 6 && string(seg[:6]) == "Exif\x00\x00" {
			if o := tiffOrientation(seg[6:]); o != 0 {
				return o
			}
		}
		i += 2 + n
	}
	return 1
}

// tiffOrientation reads tag 0x0112 from IFD0 of a TIFF structure, 0 if absent.
func tiffOrientation(t []byte) int {
	if len(t) < 8 {
		return 0
	}
	var bo binary.ByteOrder
	switch string(t[:4]) {
	case "II*\x00":
		bo = binary.LittleEndian
	case "MM\x00*":
		bo = binary.BigEndian
	default:
		return 0
	}
	ifd := int64(bo.Uint32(t[4:]))
	if ifd < 8 || ifd+2 > int64(len(t)) {
		return 0
	}
	count := int(bo.Uint16(t[ifd:]))
	for k := 0; k < count; k++ {
		e := ifd + 2 + int64(k)*12
		if e+12 > int64(len(t)) {
			return 0
		}
		if bo.Uint16(t[e:]) != 0x0112 {
			continue
		}
		// Type SHORT, count 1: the value sits in the first two bytes of
		// the value field, in the file's byte order.
		if bo.Uint16(t[e+2:]) != 3 {
			return 0
		}
		if v := int(bo.Uint16(t[e+8:])); v >= 1 && v <= 8 {
			return v
		}
		return 0
	}
	return 0
}

// orient turns a picture stored with EXIF orientation o into the picture the
// camera's user saw. The mapping follows the EXIF 2.32 table of where the
// stored 0th row and 0th column belong.
func orient(img *image.NRGBA, o int) *image.NRGBA {
	switch o {
	case 2: // 0th row at top, 0th column at right
		return imaging.FlipH(img)
	case 3: // bottom, right
		return imaging.Rotate180(img)
	case 4: // bottom, left
		return imaging.FlipV(img)
	case 5: // left, top
		return imaging.Transpose(img)
	case 6: // right, top: turn 90° clockwise
		return imaging.Rotate270(img)
	case 7: // right, bottom
		return imaging.Transverse(img)
	case 8: // left, bottom: turn 90° counter-clockwise
		return imaging.Rotate90(img)
	}
	return img
}
