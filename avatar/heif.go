package avatar

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// maxHEIFTiles bounds the tiles of a HEIF grid picture. Phones tile a
// photo in 512x512 squares: a 12 MP iPhone HEIC has 48, a 48 MP one 192;
// a grid of a thousand tiny tiles costs a decoder set-up each and is
// refused from the header.
const maxHEIFTiles = 256

// maxHEIFItems bounds the items of a HEIF file: the tiles, their
// thumbnails, Exif and XMP, alpha and depth maps.
const maxHEIFItems = 2*maxHEIFTiles + 64

// heifInfo is what the container of a HEIF file (HEIC, AVIF) says, read in
// Go before any decoder sees the file.
type heifInfo struct {
	// width and height are the largest "ispe" of any image item: the
	// primary picture, its tiles, thumbnails, alpha or depth maps. The
	// largest bounds what a decoder will allocate.
	width, height int
	primary       uint32
	primaryType   string // "hvc1", "av01", "grid", …
	tiles         int    // for a grid: the tiles it is made of
	// tileIDs are the grid's tiles in the order of its dimg reference,
	// row by row; at most maxHEIFTiles+1 are kept, enough to refuse more.
	tileIDs []uint32
	items   int
	thumbs  []heifThumb
	// aux says the primary has an auxiliary picture (alpha, depth), which
	// a thumbnail taken alone would lose.
	aux bool
	// raw is the parsed file, for extractItem and readGrid.
	raw heifFile
}

// heifThumb is a thumbnail item of the primary picture.
type heifThumb struct {
	id            uint32
	width, height int
}

// heifFile is the parts of a HEIF file's meta box that extractItem and
// readGrid need.
type heifFile struct {
	ftyp  []byte // the whole ftyp box
	idat  []byte // the meta box's own item data, where a grid's payload often is
	types map[uint32]string
	// props is ipco's property boxes (whole, with their headers), 1-based
	// in the file, 0-based here.
	props [][]byte
	// assoc maps an item to the 1-based indices of its properties.
	assoc map[uint32][]int
	locs  map[uint32]heifLoc
}

// heifLoc is where an item's bytes are.
type heifLoc struct {
	method  int // construction method: 0 file offsets, 1 idat, 2 item
	dataRef int
	extents [][2]uint64 // absolute offset, length
}

// errHEIF is a container that cannot be read.
var errHEIF = errors.New("malformed HEIF container")

// parseHEIF reads the container of a HEIF file.
func parseHEIF(b []byte) (heifInfo, error) {
	var info heifInfo
	ftyp, ok := rawChildBox(b, "ftyp")
	if !ok {
		return info, fmt.Errorf("no ftyp box")
	}
	meta, ok := childBox(b, "meta")
	if !ok || len(meta) < 4 {
		return info, fmt.Errorf("no meta box")
	}
	meta = meta[4:] // a full box: skip version and flags
	info.raw = heifFile{ftyp: ftyp, types: map[uint32]string{}, assoc: map[uint32][]int{}, locs: map[uint32]heifLoc{}}

	if body, ok := childBox(meta, "pitm"); ok {
		r := boxReader{b: body}
		v := r.fullBox()
		info.primary = r.id(v)
		if r.err != nil {
			return info, fmt.Errorf("primary item: %w", r.err)
		}
	}
	if body, ok := childBox(meta, "iinf"); ok {
		if err := info.readItems(body); err != nil {
			return info, err
		}
	}
	if body, ok := childBox(meta, "idat"); ok {
		info.raw.idat = body
	}
	if body, ok := childBox(meta, "iloc"); ok {
		locs, err := readLocations(body)
		if err != nil {
			return info, err
		}
		info.raw.locs = locs
	}
	iprp, ok := childBox(meta, "iprp")
	if !ok {
		return info, fmt.Errorf("no item properties")
	}
	if err := info.readProperties(iprp); err != nil {
		return info, err
	}
	info.primaryType = info.raw.types[info.primary]
	if body, ok := childBox(meta, "iref"); ok {
		if err := info.readReferences(body); err != nil {
			return info, err
		}
	}
	return info, nil
}

func (info *heifInfo) readItems(body []byte) error {
	r := boxReader{b: body}
	v := r.fullBox()
	var n uint32
	if v == 0 {
		n = uint32(r.u16())
	} else {
		n = r.u32()
	}
	if r.err != nil {
		return fmt.Errorf("item info: %w", r.err)
	}
	info.items = int(n)
	if n > maxHEIFItems {
		return nil // checkHeader refuses it; the entries need not be read
	}
	for typ, infe := range boxes(r.rest()) {
		if typ != "infe" {
			continue
		}
		e := boxReader{b: infe}
		ev := e.fullBox()
		if ev < 2 {
			continue // no item type before version 2
		}
		var id uint32
		if ev == 2 {
			id = uint32(e.u16())
		} else {
			id = e.u32()
		}
		e.u16() // protection index
		t := e.bytes(4)
		if e.err != nil {
			return fmt.Errorf("item info entry: %w", e.err)
		}
		info.raw.types[id] = string(t)
	}
	return nil
}

func (info *heifInfo) readProperties(iprp []byte) error {
	ipco, ok := childBox(iprp, "ipco")
	if !ok {
		return fmt.Errorf("no item property container")
	}
	found := false
	for raw := range rawBoxes(ipco) {
		info.raw.props = append(info.raw.props, raw)
		if string(raw[4:8]) != "ispe" {
			continue
		}
		body := raw[boxHeaderLen(raw):]
		if len(body) < 12 {
			return fmt.Errorf("short image size property")
		}
		bw, bh := binary.BigEndian.Uint32(body[4:]), binary.BigEndian.Uint32(body[8:])
		// 1<<30 keeps the product within int64 and is far over any limit.
		info.width, info.height = max(info.width, int(min(bw, 1<<30))), max(info.height, int(min(bh, 1<<30)))
		found = true
	}
	if !found {
		return fmt.Errorf("no image size property")
	}
	for typ, body := range boxes(iprp) {
		if typ != "ipma" {
			continue
		}
		r := boxReader{b: body}
		v := r.fullBox()
		flags := r.flags
		n := r.u32()
		if n > maxHEIFItems {
			return fmt.Errorf("%d property associations", n)
		}
		for range n {
			id := r.id(v)
			k := int(r.u8())
			for range k {
				var idx int
				if flags&1 != 0 {
					idx = int(r.u16() & 0x7fff)
				} else {
					idx = int(r.u8() & 0x7f)
				}
				info.raw.assoc[id] = append(info.raw.assoc[id], idx)
			}
			if r.err != nil {
				return fmt.Errorf("property associations: %w", r.err)
			}
		}
	}
	return nil
}

func (info *heifInfo) readReferences(body []byte) error {
	r := boxReader{b: body}
	v := r.fullBox()
	if r.err != nil {
		return fmt.Errorf("item references: %w", r.err)
	}
	for typ, ref := range boxes(r.rest()) {
		e := boxReader{b: ref}
		from := e.id(v)
		n := int(e.u16())
		if e.err != nil {
			return fmt.Errorf("item reference %s: %w", typ, e.err)
		}
		switch {
		case typ == "dimg" && from == info.primary:
			// The tiles of a grid (or the input of an overlay or a
			// transformation): counted before any is read.
			info.tiles += n
			for range n {
				to := e.id(v)
				if e.err != nil {
					return fmt.Errorf("tile reference: %w", e.err)
				}
				if len(info.tileIDs) <= maxHEIFTiles {
					info.tileIDs = append(info.tileIDs, to)
				}
			}
		case typ == "auxl" && from != info.primary:
			for range n {
				if e.id(v) == info.primary {
					info.aux = true
				}
			}
		case typ == "thmb":
			for range n {
				to := e.id(v)
				if e.err != nil {
					return fmt.Errorf("thumbnail reference: %w", e.err)
				}
				if to == info.primary && len(info.thumbs) < 8 {
					w, h := info.raw.size(from)
					info.thumbs = append(info.thumbs, heifThumb{id: from, width: w, height: h})
				}
			}
		}
	}
	return nil
}

// size is the ispe of item id, or 0, 0.
func (f heifFile) size(id uint32) (w, h int) {
	for _, idx := range f.assoc[id] {
		if idx < 1 || idx > len(f.props) {
			continue
		}
		raw := f.props[idx-1]
		if string(raw[4:8]) != "ispe" {
			continue
		}
		body := raw[boxHeaderLen(raw):]
		if len(body) >= 12 {
			return int(min(binary.BigEndian.Uint32(body[4:]), 1<<30)), int(min(binary.BigEndian.Uint32(body[8:]), 1<<30))
		}
	}
	return 0, 0
}

func readLocations(body []byte) (map[uint32]heifLoc, error) {
	r := boxReader{b: body}
	v := r.fullBox()
	sizes := r.u16()
	offSize, lenSize, baseSize, idxSize := int(sizes>>12), int(sizes>>8&15), int(sizes>>4&15), int(sizes&15)
	if v == 0 {
		idxSize = 0
	}
	var n uint32
	if v < 2 {
		n = uint32(r.u16())
	} else {
		n = r.u32()
	}
	if r.err != nil {
		return nil, fmt.Errorf("item locations: %w", r.err)
	}
	if n > maxHEIFItems {
		return nil, fmt.Errorf("%d item locations", n)
	}
	locs := make(map[uint32]heifLoc, n)
	for range n {
		var id uint32
		if v < 2 {
			id = uint32(r.u16())
		} else {
			id = r.u32()
		}
		var loc heifLoc
		if v >= 1 {
			loc.method = int(r.u16() & 15)
		}
		loc.dataRef = int(r.u16())
		base := r.uint(baseSize)
		k := int(r.u16())
		for range k {
			r.uint(idxSize)
			off, n := r.uint(offSize), r.uint(lenSize)
			if len(loc.extents) < 64 {
				loc.extents = append(loc.extents, [2]uint64{base + off, n})
			}
		}
		if r.err != nil {
			return nil, fmt.Errorf("item locations: %w", r.err)
		}
		locs[id] = loc
	}
	return locs, nil
}

// thumbFor returns the smallest thumbnail whose side the avatar needs (the
// shorter for a crop, the longer for a fit) is at least side, with the
// primary picture's shape, or false.
func (info heifInfo) thumbFor(side int, crop bool, pw, ph int) (heifThumb, bool) {
	var best heifThumb
	found := false
	if info.aux {
		return best, false
	}
	for _, t := range info.thumbs {
		if t.width <= 0 || t.height <= 0 || pw <= 0 || ph <= 0 {
			continue
		}
		s := min(t.width, t.height)
		if !crop {
			s = max(t.width, t.height)
		}
		// Within 2% of the primary's aspect: a thumbnail of another
		// shape (a crop, a letterbox) would not be the same picture.
		a, b := int64(t.width)*int64(ph), int64(t.height)*int64(pw)
		if s < side || 50*abs64(a-b) > a {
			continue
		}
		if !found || t.width*t.height < best.width*best.height {
			best, found = t, true
		}
	}
	return best, found
}

func abs64(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// extractThumb writes thumbnail t of the file b as a HEIF file of its
// own, whose primary picture it is, so that a decoder that reads only the
// primary picture decodes the thumbnail. The primary's rotation and mirror
// come along when the thumbnail has none, so the thumbnail comes out
// upright as the primary would.
func (info heifInfo) extractThumb(b []byte, t heifThumb) ([]byte, error) {
	out, err := info.extractItem(b, t.id, t.width, t.height, "irot", "imir")
	if err != nil {
		return nil, fmt.Errorf("thumbnail %w", err)
	}
	return out, nil
}

// itemData is the bytes of item id: its extents, from the file (method 0)
// or from the meta box's idat (method 1).
func (f heifFile) itemData(b []byte, id uint32) ([]byte, error) {
	loc, ok := f.locs[id]
	if !ok || loc.dataRef != 0 || len(loc.extents) == 0 {
		return nil, fmt.Errorf("%d: no location in the file", id)
	}
	var src []byte
	switch loc.method {
	case 0:
		src = b
	case 1:
		src = f.idat
	default:
		return nil, fmt.Errorf("%d: data built from other items", id)
	}
	var data []byte
	for _, e := range loc.extents {
		if e[1] == 0 || e[0] > uint64(len(src)) || e[1] > uint64(len(src))-e[0] {
			return nil, fmt.Errorf("%d: extent %d+%d outside the data", id, e[0], e[1])
		}
		data = append(data, src[e[0]:e[0]+e[1]]...)
	}
	return data, nil
}

// extractItem writes image item id (of size w x h, its own ispe) of the
// file b as a HEIF file of its own, whose primary picture it is: for a
// decoder that reads only the primary picture, a thumbnail or one tile of
// a grid. The item's properties come along, and the primary's properties
// of the types inherit when the item has none of those: a thumbnail takes
// the primary's rotation, a tile its colour. Errors name the item, not
// what it is to the caller.
func (info heifInfo) extractItem(b []byte, id uint32, w, h int, inherit ...string) ([]byte, error) {
	f := info.raw
	if w <= 0 || h <= 0 {
		// A decoder needs the item's own ispe; another item's would not
		// come along into the new file.
		return nil, fmt.Errorf("%d: no image size property", id)
	}
	if f.locs[id].method != 0 {
		// Coded pictures are in the file; only a grid's few bytes of
		// payload may be in idat, and are not written out here.
		return nil, fmt.Errorf("%d: no location in the file", id)
	}
	data, err := f.itemData(b, id)
	if err != nil {
		return nil, err
	}
	var props [][]byte
	own := map[string]bool{}
	for _, idx := range f.assoc[id] {
		if idx < 1 || idx > len(f.props) {
			return nil, fmt.Errorf("%d: property %d of %d", id, idx, len(f.props))
		}
		p := f.props[idx-1]
		props = append(props, p)
		own[string(p[4:8])] = true
	}
	if !slices.ContainsFunc(inherit, func(typ string) bool { return own[typ] }) {
		for _, idx := range f.assoc[info.primary] {
			if idx >= 1 && idx <= len(f.props) {
				if p := f.props[idx-1]; slices.Contains(inherit, string(p[4:8])) {
					props = append(props, p)
				}
			}
		}
	}
	if len(props) > 127 {
		return nil, fmt.Errorf("%d: %d properties", id, len(props))
	}
	typ := f.types[id]
	if len(typ) != 4 {
		return nil, fmt.Errorf("%d: no item type", id)
	}

	var ipco, ipma []byte
	for _, p := range props {
		ipco = append(ipco, p...)
	}
	ipma = binary.BigEndian.AppendUint32(ipma, 0) // version 0, flags 0
	ipma = binary.BigEndian.AppendUint32(ipma, 1)
	ipma = binary.BigEndian.AppendUint16(ipma, 1)
	ipma = append(ipma, byte(len(props)))
	for i := range props {
		ipma = append(ipma, 0x80|byte(i+1)) // essential
	}
	infe := []byte{2, 0, 0, 0, 0, 1, 0, 0}
	infe = append(append(infe, typ...), 0)
	iinf := box("infe", infe)
	iinf = append([]byte{0, 0, 0, 0, 0, 1}, iinf...)
	// iloc version 0: 4-byte offsets and lengths, no base offset; the
	// offset is patched once the size of meta is known.
	iloc := []byte{0, 0, 0, 0, 0x44, 0x00, 0, 1, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0}
	iloc = binary.BigEndian.AppendUint32(iloc, uint32(len(data)))
	hdlr := append(make([]byte, 8), "pict"...)
	hdlr = append(hdlr, make([]byte, 13)...)
	meta := []byte{0, 0, 0, 0}
	meta = append(meta, box("hdlr", hdlr)...)
	meta = append(meta, box("pitm", []byte{0, 0, 0, 0, 0, 1})...)
	ilocAt := len(meta) + 8 // the box header
	meta = append(meta, box("iloc", iloc)...)
	meta = append(meta, box("iinf", iinf)...)
	meta = append(meta, box("iprp", append(box("ipco", ipco), box("ipma", ipma)...))...)
	out := append([]byte{}, f.ftyp...)
	metaBox := box("meta", meta)
	offset := len(out) + len(metaBox) + 8
	if uint64(offset)+uint64(len(data)) > 1<<32-1 {
		return nil, fmt.Errorf("%d: too large", id)
	}
	binary.BigEndian.PutUint32(metaBox[8+ilocAt+14:], uint32(offset))
	out = append(out, metaBox...)
	return append(out, box("mdat", data)...), nil
}

// box is an ISO BMFF box of type typ around body.
func box(typ string, body []byte) []byte {
	out := binary.BigEndian.AppendUint32(nil, uint32(8+len(body)))
	return append(append(out, typ...), body...)
}

// rawChildBox returns the first box of type typ in b, header included.
func rawChildBox(b []byte, typ string) ([]byte, bool) {
	for raw := range rawBoxes(b) {
		if string(raw[4:8]) == typ {
			return raw, true
		}
	}
	return nil, false
}

// rawBoxes yields each whole box in b, header included, as boxes does.
func rawBoxes(b []byte) func(yield func([]byte) bool) {
	return func(yield func([]byte) bool) {
		rest := b
		for _, body := range boxes(b) {
			n := boxHeaderLen(rest) + len(body)
			if !yield(rest[:n]) {
				return
			}
			rest = rest[n:]
		}
	}
}

// boxHeaderLen is the header length of the box at the start of b, which
// boxes has checked.
func boxHeaderLen(b []byte) int {
	if binary.BigEndian.Uint32(b) == 1 {
		return 16
	}
	return 8
}

// boxReader reads the fields of a box body; the first short read sets err
// and every later read returns zero.
type boxReader struct {
	b     []byte
	flags uint32
	err   error
}

func (r *boxReader) bytes(n int) []byte {
	if r.err != nil || n < 0 || n > len(r.b) {
		if r.err == nil {
			r.err = errHEIF
		}
		return nil
	}
	out := r.b[:n]
	r.b = r.b[n:]
	return out
}

func (r *boxReader) uint(n int) uint64 {
	switch n {
	case 0:
		return 0
	case 4, 8:
	default:
		if r.err == nil {
			r.err = fmt.Errorf("%w: field of %d bytes", errHEIF, n)
		}
		return 0
	}
	var v uint64
	for _, c := range r.bytes(n) {
		v = v<<8 | uint64(c)
	}
	return v
}

func (r *boxReader) u8() uint8 {
	if b := r.bytes(1); b != nil {
		return b[0]
	}
	return 0
}

func (r *boxReader) u16() uint16 {
	if b := r.bytes(2); b != nil {
		return binary.BigEndian.Uint16(b)
	}
	return 0
}

func (r *boxReader) u32() uint32 {
	if b := r.bytes(4); b != nil {
		return binary.BigEndian.Uint32(b)
	}
	return 0
}

// fullBox reads a full box's version and flags.
func (r *boxReader) fullBox() int {
	v := r.u32()
	r.flags = v & 0xffffff
	return int(v >> 24)
}

// id reads an item ID: 16 bits in version 0 boxes, 32 after.
func (r *boxReader) id(version int) uint32 {
	if version == 0 {
		return uint32(r.u16())
	}
	return r.u32()
}

func (r *boxReader) rest() []byte {
	if r.err != nil {
		return nil
	}
	return r.b
}
