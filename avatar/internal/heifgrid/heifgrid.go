// Package heifgrid assembles a grid HEIF picture (HEIC or AVIF) out of
// tiles encoded one by one, for package avatar's tests and benchmarks:
// phones store their photos as grids of 512x512 tiles, but no encoder on
// Debian 12 (libheif 1.15's heif-enc, libvips' heifsave) writes one.
//
// It is a test tool: it trusts its input to be single-picture HEIF files
// as those encoders write them, and writes whatever layout it is told,
// consistent or not, so that tests can hand package avatar broken grids.
package heifgrid

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"image"
)

// Layout is what the grid item says about its tiles.
type Layout struct {
	Rows, Cols    int // the payload's, whatever the number of tiles
	Width, Height int // output size: the payload's and the grid's ispe
	// Wide writes the payload's sizes in 32 bits (flags&1).
	Wide bool
	// ISPE, if set, is the grid's image size property, in place of
	// Width x Height.
	ISPE image.Point
	// Props are more properties of the grid item (whole boxes, such as
	// irot, imir or colr), in the order they are to apply.
	Props [][]byte
	// Refs, if set, are the tile items the grid refers to, 0 for the
	// first tile given; an index with no tile names a missing item.
	Refs []int
}

// tile is the one picture of a single-picture HEIF file.
type tile struct {
	typ   string
	props [][]byte
	data  []byte
}

// Build writes a HEIF file whose primary item is a grid of the primary
// pictures of tiles, in the file brand of the first.
func Build(tiles [][]byte, l Layout) ([]byte, error) {
	if len(tiles) == 0 {
		return nil, fmt.Errorf("heifgrid: no tiles")
	}
	var ftyp []byte
	parsed := make([]tile, len(tiles))
	for i, b := range tiles {
		t, ft, err := parse(b)
		if err != nil {
			return nil, fmt.Errorf("heifgrid: tile %d: %w", i+1, err)
		}
		if i == 0 {
			ftyp = ft
		}
		parsed[i] = t
	}
	refs := l.Refs
	if refs == nil {
		for i := range tiles {
			refs = append(refs, i)
		}
	}

	// Properties, each written once: tiles of one encoder share theirs.
	var ipco [][]byte
	index := func(p []byte) int {
		for i, q := range ipco {
			if bytes.Equal(p, q) {
				return i + 1
			}
		}
		ipco = append(ipco, p)
		return len(ipco)
	}
	u32 := binary.BigEndian.AppendUint32
	u16 := binary.BigEndian.AppendUint16
	size := image.Pt(l.Width, l.Height)
	if l.ISPE != (image.Point{}) {
		size = l.ISPE
	}
	ispe := box("ispe", u32(u32(make([]byte, 4), uint32(size.X)), uint32(size.Y)))
	gridProps := []int{index(ispe)}
	for _, p := range l.Props {
		gridProps = append(gridProps, index(p))
	}
	tileProps := make([][]int, len(parsed))
	for i, t := range parsed {
		for _, p := range t.props {
			tileProps[i] = append(tileProps[i], index(p))
		}
	}

	// Item 1 is the grid, item 2+i tile i.
	payload := []byte{0, 0, byte(l.Rows - 1), byte(l.Cols - 1)}
	if l.Wide {
		payload[1] = 1
		payload = u32(u32(payload, uint32(l.Width)), uint32(l.Height))
	} else {
		payload = u16(u16(payload, uint16(l.Width)), uint16(l.Height))
	}
	iinf := u16(make([]byte, 4), uint16(1+len(parsed)))
	iinf = append(iinf, box("infe", append([]byte{2, 0, 0, 0, 0, 1, 0, 0}, "grid\x00"...))...)
	for i, t := range parsed {
		infe := u16([]byte{2, 0, 0, 0}, uint16(2+i))
		infe = append(append(infe, 0, 0), t.typ+"\x00"...)
		iinf = append(iinf, box("infe", infe)...)
	}
	ipma := u32(u32(nil, 1), uint32(1+len(parsed))) // version 0, flags 1: 16-bit indices
	assoc := func(id int, props []int) {
		ipma = append(u16(ipma, uint16(id)), byte(len(props)))
		for _, p := range props {
			ipma = u16(ipma, 0x8000|uint16(p))
		}
	}
	assoc(1, gridProps)
	for i := range parsed {
		assoc(2+i, tileProps[i])
	}
	var ipcoBody []byte
	for _, p := range ipco {
		ipcoBody = append(ipcoBody, p...)
	}
	dimg := u16(u16(nil, 1), uint16(len(refs)))
	for _, r := range refs {
		dimg = u16(dimg, uint16(2+r))
	}
	hdlr := append(append(make([]byte, 8), "pict"...), make([]byte, 13)...)

	// meta writes the meta box with the tiles' data at base in the file.
	meta := func(base uint32) []byte {
		// iloc version 1: 4-byte offsets and lengths, no base offset; the
		// grid's payload in idat (construction method 1).
		iloc := u16(append([]byte{1, 0, 0, 0}, 0x44, 0x00), uint16(1+len(parsed)))
		iloc = u16(u16(u16(iloc, 1), 1), 0)                    // item 1, method 1, data reference 0
		iloc = u32(u32(u16(iloc, 1), 0), uint32(len(payload))) // one extent
		at := base
		for i, t := range parsed {
			iloc = u16(u16(u16(iloc, uint16(2+i)), 0), 0)
			iloc = u32(u32(u16(iloc, 1), at), uint32(len(t.data)))
			at += uint32(len(t.data))
		}
		body := make([]byte, 4)
		body = append(body, box("hdlr", hdlr)...)
		body = append(body, box("pitm", []byte{0, 0, 0, 0, 0, 1})...)
		body = append(body, box("iinf", iinf)...)
		body = append(body, box("iref", append(make([]byte, 4), box("dimg", dimg)...))...)
		body = append(body, box("iprp", append(box("ipco", ipcoBody), box("ipma", ipma)...))...)
		body = append(body, box("iloc", iloc)...)
		body = append(body, box("idat", payload)...)
		return box("meta", body)
	}
	base := uint32(len(ftyp) + len(meta(0)) + 8)
	out := append(append([]byte{}, ftyp...), meta(base)...)
	var mdat []byte
	for _, t := range parsed {
		mdat = append(mdat, t.data...)
	}
	return append(out, box("mdat", mdat)...), nil
}

// parse reads the primary picture of a single-picture HEIF file: its
// type, its properties, its data.
func parse(b []byte) (tile, []byte, error) {
	var t tile
	ftyp, ok := child(b, "ftyp")
	if !ok {
		return t, nil, fmt.Errorf("no ftyp")
	}
	ftyp = b[:8+len(ftyp)]
	meta, ok := child(b, "meta")
	if !ok || len(meta) < 4 {
		return t, nil, fmt.Errorf("no meta")
	}
	meta = meta[4:]
	pitm, ok := child(meta, "pitm")
	if !ok || len(pitm) < 6 || pitm[0] != 0 {
		return t, nil, fmt.Errorf("no version 0 pitm")
	}
	primary := binary.BigEndian.Uint16(pitm[4:])

	iinf, _ := child(meta, "iinf")
	if len(iinf) < 6 {
		return t, nil, fmt.Errorf("no iinf")
	}
	skip := 6
	if iinf[0] != 0 {
		skip = 8
	}
	for typ, infe := range boxes(iinf[skip:]) {
		if typ == "infe" && len(infe) >= 12 && infe[0] == 2 && binary.BigEndian.Uint16(infe[4:]) == primary {
			t.typ = string(infe[8:12])
		}
	}
	if t.typ == "" {
		return t, nil, fmt.Errorf("no item type for item %d", primary)
	}

	iprp, _ := child(meta, "iprp")
	ipco, _ := child(iprp, "ipco")
	var props [][]byte
	for rest := ipco; len(rest) >= 8; {
		n := int(binary.BigEndian.Uint32(rest))
		if n < 8 || n > len(rest) {
			return t, nil, fmt.Errorf("bad property box")
		}
		props = append(props, rest[:n])
		rest = rest[n:]
	}
	ipma, _ := child(iprp, "ipma")
	if len(ipma) < 8 || ipma[0] != 0 {
		return t, nil, fmt.Errorf("no version 0 ipma")
	}
	wide := ipma[3]&1 != 0
	r := ipma[8:]
	for range binary.BigEndian.Uint32(ipma[4:]) {
		if len(r) < 3 {
			return t, nil, fmt.Errorf("short ipma")
		}
		id, k := binary.BigEndian.Uint16(r), int(r[2])
		r = r[3:]
		for range k {
			var idx int
			if wide {
				idx, r = int(binary.BigEndian.Uint16(r)&0x7fff), r[2:]
			} else {
				idx, r = int(r[0]&0x7f), r[1:]
			}
			if id == primary && idx >= 1 && idx <= len(props) {
				t.props = append(t.props, props[idx-1])
			}
		}
	}

	iloc, _ := child(meta, "iloc")
	// 4-byte offsets and lengths, a base offset of 0 or 4 bytes, no index.
	if len(iloc) < 8 || iloc[0] > 1 || iloc[4] != 0x44 || iloc[5]&0x0f != 0 || iloc[5]>>4 != 0 && iloc[5]>>4 != 4 {
		return t, nil, fmt.Errorf("iloc not in the layout heifsave writes")
	}
	baseSize := int(iloc[5] >> 4)
	r = iloc[8:]
	for range binary.BigEndian.Uint16(iloc[6:]) {
		if len(r) < 8+baseSize {
			return t, nil, fmt.Errorf("short iloc")
		}
		id := binary.BigEndian.Uint16(r)
		r = r[2:]
		if iloc[0] == 1 {
			r = r[2:] // construction method
		}
		r = r[2:] // data reference
		var base uint32
		if baseSize == 4 {
			base, r = binary.BigEndian.Uint32(r), r[4:]
		}
		n := int(binary.BigEndian.Uint16(r))
		r = r[2:]
		if len(r) < 8*n {
			return t, nil, fmt.Errorf("short iloc")
		}
		for range n {
			off, size := base+binary.BigEndian.Uint32(r), binary.BigEndian.Uint32(r[4:])
			r = r[8:]
			if id == primary {
				if uint64(off)+uint64(size) > uint64(len(b)) {
					return t, nil, fmt.Errorf("extent outside the file")
				}
				t.data = append(t.data, b[off:off+size]...)
			}
		}
	}
	if len(t.data) == 0 {
		return t, nil, fmt.Errorf("no data for item %d", primary)
	}
	return t, ftyp, nil
}

func box(typ string, body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(out, typ...), body...)
}

func child(b []byte, typ string) ([]byte, bool) {
	for t, body := range boxes(b) {
		if t == typ {
			return body, true
		}
	}
	return nil, false
}

// boxes yields the type and body of each 32-bit-sized box in b.
func boxes(b []byte) func(yield func(string, []byte) bool) {
	return func(yield func(string, []byte) bool) {
		for len(b) >= 8 {
			n := int(binary.BigEndian.Uint32(b))
			if n < 8 || n > len(b) {
				return
			}
			if !yield(string(b[4:8]), b[8:n]) {
				return
			}
			b = b[n:]
		}
	}
}
