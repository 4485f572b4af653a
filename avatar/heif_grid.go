package avatar

import (
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"sync"

	"github.com/disintegration/imaging"
)

// gridLayout is the layout of a grid picture (ISO/IEC 23008-12, 6.6.2.3):
// rows x cols tiles of tileW x tileH, laid row by row and cropped at the
// right and bottom to width x height.
type gridLayout struct {
	rows, cols    int
	width, height int
	tileW, tileH  int
	tiles         []uint32 // row by row
	tileType      string   // "hvc1" or "av01"
	transforms    [][]byte // the grid's irot and imir, in their order
}

// errGridUnsupported is a grid the tiled decode does not take (an alpha
// or depth picture, a crop property): the caller decodes it whole.
var errGridUnsupported = errors.New("not a grid the tiled decode takes")

// readGrid reads and checks the layout of the primary grid picture of the
// file b: its payload against its dimg tiles, their item types and sizes,
// and its own size. Every size it returns has been checked against the
// header's limits, since each is the ispe of an item.
func (info heifInfo) readGrid(b []byte) (gridLayout, error) {
	var g gridLayout
	f := info.raw
	if info.primaryType != "grid" {
		return g, fmt.Errorf("%w: the primary picture is %q", errGridUnsupported, info.primaryType)
	}
	if info.aux {
		// An alpha picture is a grid of its own, composited by the
		// whole decode.
		return g, fmt.Errorf("%w: it has an auxiliary picture", errGridUnsupported)
	}
	for _, idx := range f.assoc[info.primary] {
		if idx < 1 || idx > len(f.props) {
			return g, fmt.Errorf("grid property %d of %d", idx, len(f.props))
		}
		switch p := f.props[idx-1]; string(p[4:8]) {
		case "irot", "imir":
			if len(p) <= boxHeaderLen(p) {
				return g, fmt.Errorf("empty %s property", p[4:8])
			}
			g.transforms = append(g.transforms, p)
		case "clap":
			return g, fmt.Errorf("%w: a clean aperture (crop) property", errGridUnsupported)
		}
	}
	payload, err := f.itemData(b, info.primary)
	if err != nil {
		return g, fmt.Errorf("grid item %w", err)
	}
	r := boxReader{b: payload}
	version, flags := r.u8(), r.u8()
	g.rows, g.cols = int(r.u8())+1, int(r.u8())+1
	if flags&1 != 0 {
		g.width, g.height = int(min(r.u32(), 1<<30)), int(min(r.u32(), 1<<30))
	} else {
		g.width, g.height = int(r.u16()), int(r.u16())
	}
	switch {
	case r.err != nil:
		return g, fmt.Errorf("grid payload of %d bytes: %w", len(payload), r.err)
	case version != 0:
		return g, fmt.Errorf("grid payload version %d", version)
	case g.rows*g.cols > maxHEIFTiles:
		return g, fmt.Errorf("grid of %dx%d tiles, more than the %d allowed", g.cols, g.rows, maxHEIFTiles)
	case g.rows*g.cols != len(info.tileIDs) || len(info.tileIDs) != info.tiles:
		return g, fmt.Errorf("grid of %dx%d tiles refers to %d", g.cols, g.rows, info.tiles)
	}
	if pw, ph := f.size(info.primary); g.width <= 0 || g.height <= 0 || g.width != pw || g.height != ph {
		return g, fmt.Errorf("grid payload says %dx%d, its image size property %dx%d", g.width, g.height, pw, ph)
	}
	g.tiles = info.tileIDs
	for i, id := range g.tiles {
		typ := f.types[id]
		w, h := f.size(id)
		if i == 0 {
			g.tileType, g.tileW, g.tileH = typ, w, h
			if typ != "hvc1" && typ != "av01" {
				return g, fmt.Errorf("%w: tiles of type %q", errGridUnsupported, typ)
			}
		}
		if typ != g.tileType || w != g.tileW || h != g.tileH {
			return g, fmt.Errorf("tile %d (item %d) is %q %dx%d, tile 1 %q %dx%d", i+1, id, typ, w, h, g.tileType, g.tileW, g.tileH)
		}
	}
	// The tiles cover the output, and no whole row or column of them lies
	// outside it.
	if g.tileW <= 0 || g.tileH <= 0 ||
		g.cols*g.tileW < g.width || (g.cols-1)*g.tileW >= g.width ||
		g.rows*g.tileH < g.height || (g.rows-1)*g.tileH >= g.height {
		return g, fmt.Errorf("%dx%d tiles of %dx%d do not make a %dx%d picture", g.cols, g.rows, g.tileW, g.tileH, g.width, g.height)
	}
	return g, nil
}

// tileDecoder decodes a HEIF file whose primary picture is one tile, as
// extractItem writes it. A picture with a release method is released
// once it has been added.
type tileDecoder func(tile []byte) (image.Image, error)

// decodeGrid makes the primary grid picture of data, shrunk for an avatar
// of side size, one tile at a time: each tile is written out as a HEIF
// file of its own, decoded (by up to parallel decodes at once), and
// averaged into a canvas an integer factor
// smaller than the picture, still at least twice the side the avatar needs
// (as resample leaves the last factor of 2 to Lanczos). Only parallel
// decoded tiles are held at a time: a 12 MP phone photo decoded whole costs its full
// size several times over in the decoder, a 512x512 tile a few MB. The
// grid's rotation and mirror are applied to the canvas, as a decoder
// applies them to the whole picture.
//
// Errors wrap ErrCorrupt for a file that contradicts itself, and
// errGridUnsupported for a grid the caller must decode whole.
func (info heifInfo) decodeGrid(ctx context.Context, f format, data []byte, size int, crop bool, decode tileDecoder, parallel int) (*image.NRGBA, error) {
	g, err := info.readGrid(data)
	if errors.Is(err, errGridUnsupported) {
		return nil, err
	}
	if err != nil {
		return nil, fmt.Errorf("avatar: %s grid: %v: %w", f, err, ErrCorrupt)
	}
	side := min(g.width, g.height)
	if !crop {
		side = max(g.width, g.height)
	}
	c := newBoxCanvas(g.width, g.height, max(1, side/(2*max(size, 1))))
	var mu sync.Mutex // c, whose blocks straddle tiles
	one := func(i int) error {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("avatar: %w", err)
		}
		file, err := info.extractItem(data, g.tiles[i], g.tileW, g.tileH, "colr")
		if err != nil {
			return fmt.Errorf("avatar: %s grid: tile %w: %w", f, err, ErrCorrupt)
		}
		tile, err := decode(file)
		if r, ok := tile.(interface{ release() }); ok {
			defer r.release()
		}
		if errors.Is(err, errNarrowHEIC) {
			return fmt.Errorf("avatar: %s grid: tile %d of %dx%d: %v: %w", f, i+1, g.tileW, g.tileH, err, ErrUnsupported)
		}
		if err != nil {
			return fmt.Errorf("avatar: %s grid: tile %d of %dx%d: %v: %w", f, i+1, g.tileW, g.tileH, err, ErrCorrupt)
		}
		if b := tile.Bounds(); b.Dx() != g.tileW || b.Dy() != g.tileH {
			return fmt.Errorf("avatar: %s grid: tile %d is %dx%d, its image size property says %dx%d: %w", f, i+1, b.Dx(), b.Dy(), g.tileW, g.tileH, ErrCorrupt)
		}
		mu.Lock()
		defer mu.Unlock()
		if err := c.add(tile, i%g.cols*g.tileW, i/g.cols*g.tileH); err != nil {
			return fmt.Errorf("avatar: %s grid: tile %d: %v: %w", f, i+1, err, ErrUnsupported)
		}
		return nil
	}
	if err := eachTile(len(g.tiles), parallel, one); err != nil {
		return nil, err
	}
	img := c.image()
	for _, p := range g.transforms {
		v := p[boxHeaderLen(p)]
		switch string(p[4:8]) {
		case "irot": // anticlockwise, in quarter turns
			switch v & 3 {
			case 1:
				img = imaging.Rotate90(img)
			case 2:
				img = imaging.Rotate180(img)
			case 3:
				img = imaging.Rotate270(img)
			}
		case "imir":
			img = mirror(img, v&1)
		}
	}
	return img, nil
}

// eachTile runs one for tiles 0 to n-1, on up to parallel goroutines, and
// returns the error of the lowest tile that failed; after a failure no
// more tiles are started.
func eachTile(n, parallel int, one func(i int) error) error {
	parallel = max(1, min(parallel, n))
	if parallel == 1 {
		for i := range n {
			if err := one(i); err != nil {
				return err
			}
		}
		return nil
	}
	var (
		mu     sync.Mutex
		next   int
		first  = n
		failed error
		wg     sync.WaitGroup
	)
	for range parallel {
		wg.Go(func() {
			for {
				mu.Lock()
				i := next
				next++
				stop := i >= n || failed != nil
				mu.Unlock()
				if stop {
					return
				}
				if err := one(i); err != nil {
					mu.Lock()
					if i < first {
						first, failed = i, err
					}
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	return failed
}

// boxCanvas averages blocks of k x k pixels of a w x h picture that
// arrives in tiles, so that a tile can be dropped once added. Blocks cut
// by the picture's right and bottom edges average the pixels they have.
type boxCanvas struct {
	w, h, k int      // the picture's size, the factor
	cw, ch  int      // the canvas's
	sum     []uint32 // 4 a canvas pixel: Y, Cb, Cr or R, G, B, then alpha
	n       []uint32 // pixels a canvas pixel has had
	ycc     bool     // the sums are of YCbCr
	started bool
}

func newBoxCanvas(w, h, k int) *boxCanvas {
	// k*k*255 must fit the sums; no picture within the limits needs a
	// factor anywhere near this.
	k = min(k, 4096)
	cw, ch := (w+k-1)/k, (h+k-1)/k
	return &boxCanvas{w: w, h: h, k: k, cw: cw, ch: ch, sum: make([]uint32, 4*cw*ch), n: make([]uint32, cw*ch)}
}

// add adds the part of tile that lies within the picture, its top left
// corner at x0, y0 of the picture.
func (c *boxCanvas) add(tile image.Image, x0, y0 int) error {
	b := tile.Bounds()
	tw, th := min(b.Dx(), c.w-x0), min(b.Dy(), c.h-y0)
	if tw <= 0 || th <= 0 {
		return nil
	}
	yc, isYCC := tile.(*image.YCbCr)
	if !c.started {
		c.ycc, c.started = isYCC, true
	} else if isYCC != c.ycc {
		return fmt.Errorf("tiles of different colour models (%T)", tile)
	}
	// The canvas column of each of the tile's columns.
	cols := make([]int, tw)
	for x := range cols {
		cols[x] = (x0 + x) / c.k
	}
	var hs, vs uint
	if isYCC {
		var ok bool
		if hs, vs, ok = chromaShifts(yc.SubsampleRatio); !ok {
			return fmt.Errorf("chroma subsampling %v", yc.SubsampleRatio)
		}
	}
	nrgba, isNRGBA := tile.(*image.NRGBA)
	if n, ok := tile.(interface{ nrgba() *image.NRGBA }); ok {
		nrgba, isNRGBA = n.nrgba(), true
	}
	for y := range th {
		row := (y0 + y) / c.k * c.cw
		switch {
		case isYCC:
			yrow := yc.Y[(b.Min.Y+y-yc.Rect.Min.Y)*yc.YStride:]
			crow := ((b.Min.Y+y)>>vs - yc.Rect.Min.Y>>vs) * yc.CStride
			for x, cx := range cols {
				ci := crow + (b.Min.X+x)>>hs - yc.Rect.Min.X>>hs
				s := c.sum[4*(row+cx):]
				s[0] += uint32(yrow[b.Min.X+x-yc.Rect.Min.X])
				s[1] += uint32(yc.Cb[ci])
				s[2] += uint32(yc.Cr[ci])
				s[3] += 0xff
				c.n[row+cx]++
			}
		case isNRGBA:
			p := nrgba.Pix[nrgba.PixOffset(b.Min.X, b.Min.Y+y):]
			for x, cx := range cols {
				s := c.sum[4*(row+cx):]
				s[0] += uint32(p[4*x])
				s[1] += uint32(p[4*x+1])
				s[2] += uint32(p[4*x+2])
				s[3] += uint32(p[4*x+3])
				c.n[row+cx]++
			}
		default: // grey, or premultiplied: rare enough for At
			for x, cx := range cols {
				p := color.NRGBAModel.Convert(tile.At(b.Min.X+x, b.Min.Y+y)).(color.NRGBA)
				s := c.sum[4*(row+cx):]
				s[0] += uint32(p.R)
				s[1] += uint32(p.G)
				s[2] += uint32(p.B)
				s[3] += uint32(p.A)
				c.n[row+cx]++
			}
		}
	}
	return nil
}

// image is the canvas's averages, in RGB.
func (c *boxCanvas) image() *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, c.cw, c.ch))
	for i, n := range c.n {
		if n == 0 {
			continue // readGrid has checked that the tiles cover the picture
		}
		s, p := c.sum[4*i:4*i+4], img.Pix[4*i:4*i+4]
		avg := func(v uint32) uint8 { return uint8((v + n/2) / n) }
		if c.ycc {
			p[0], p[1], p[2] = color.YCbCrToRGB(avg(s[0]), avg(s[1]), avg(s[2]))
		} else {
			p[0], p[1], p[2] = avg(s[0]), avg(s[1]), avg(s[2])
		}
		p[3] = avg(s[3])
	}
	return img
}

// mirror is the imir property's turn as libheif reads it, both the
// WebAssembly build and Debian's 1.15 (see TestHEIFGridTurns): axis 0
// swaps top and bottom, 1 left and right. (The standard's words, "a
// vertical (axis = 0) or horizontal (axis = 1) axis", read the other way
// round; what counts is that the tiled picture turns as the whole one.)
func mirror(img *image.NRGBA, axis byte) *image.NRGBA {
	if axis == 0 {
		return imaging.FlipV(img)
	}
	return imaging.FlipH(img)
}
