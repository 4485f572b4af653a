package avatar

import (
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/draw"
	"strings"
	"testing"

	"mmsprofile/avatar/internal/heifgrid"
)

// gridTiles returns the tiles of a grid fixture, each a HEIF file of its
// own, to build other grids from.
func gridTiles(t *testing.T, in []byte) [][]byte {
	t.Helper()
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	var tiles [][]byte
	for _, id := range info.tileIDs {
		w, h := info.raw.size(id)
		one, err := info.extractItem(in, id, w, h, "colr")
		if err != nil {
			t.Fatal(err)
		}
		tiles = append(tiles, one)
	}
	return tiles
}

// grid3x2 is testdata/grid-3x2.heic rebuilt with l's changes from the
// fixture's layout: six 128x128 tiles making 300x200.
func grid3x2(t *testing.T, change func(l *heifgrid.Layout, tiles [][]byte)) []byte {
	t.Helper()
	tiles := gridTiles(t, readTestdata(t, "grid-3x2.heic"))
	l := heifgrid.Layout{Rows: 2, Cols: 3, Width: 300, Height: 200}
	if change != nil {
		change(&l, tiles)
	}
	out, err := heifgrid.Build(tiles, l)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// tiled decodes the primary grid of in a tile at a time for an avatar of
// side size, in WebAssembly.
func tiled(t *testing.T, in []byte, size int, crop bool) (*image.NRGBA, error) {
	t.Helper()
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	return info.decodeGrid(context.Background(), formatHEIC, in, size, crop, func(tile []byte) (image.Image, error) {
		return decodeWasm(formatHEIC, tile)
	}, 1)
}

// whole decodes in whole, libheif composing the grid, as the reference.
func whole(t *testing.T, in []byte) *image.NRGBA {
	t.Helper()
	img, err := decodeWasm(formatHEIC, in)
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewNRGBA(image.Rect(0, 0, img.Bounds().Dx(), img.Bounds().Dy()))
	draw.Draw(out, out.Rect, img, img.Bounds().Min, draw.Src)
	return out
}

func TestHEIFGridLayout(t *testing.T) {
	in := readTestdata(t, "grid-3x2.heic")
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	g, err := info.readGrid(in)
	if err != nil {
		t.Fatal(err)
	}
	if g.rows != 2 || g.cols != 3 || g.width != 300 || g.height != 200 || g.tileW != 128 || g.tileH != 128 || len(g.tiles) != 6 || g.tileType != "hvc1" {
		t.Fatalf("layout %+v", g)
	}
	wide := grid3x2(t, func(l *heifgrid.Layout, _ [][]byte) { l.Wide = true })
	info, err = parseHEIF(wide)
	if err != nil {
		t.Fatal(err)
	}
	if g, err := info.readGrid(wide); err != nil || g.width != 300 || g.height != 200 {
		t.Fatalf("32-bit sizes: %+v, %v", g, err)
	}
}

// TestHEIFGridCropsEdgeTiles: the right column and bottom row of tiles
// hang over the 300x200 picture, and are painted magenta there; the
// quarters meet at 150,100, inside tiles. A tile put at the wrong place or
// cropped wrongly shows magenta or moves a quarter's edge.
func TestHEIFGridCropsEdgeTiles(t *testing.T) {
	in := readTestdata(t, "grid-3x2.heic")
	for _, size := range []int{150, 64, 16} { // factors 1, 1 and 6
		img, err := tiled(t, in, size, true)
		if err != nil {
			t.Fatal(err)
		}
		b := img.Bounds()
		k := max(1, 200/(2*size))
		if want := image.Rect(0, 0, (300+k-1)/k, (200+k-1)/k); b != want {
			t.Fatalf("size %d: canvas %v, want %v", size, b, want)
		}
		for y := range b.Dy() {
			for x := range b.Dx() {
				c := img.NRGBAAt(x, y)
				if c.R > 150 && c.B > 150 && c.G < 100 {
					t.Fatalf("size %d: magenta %v at %d,%d of %v: an edge tile was not cropped", size, c, x, y, b)
				}
			}
		}
		// The middle of each quarter, and just either side of the edges
		// inside the tiles (150 and 100 in the picture).
		for _, p := range []image.Point{{75, 50}, {225, 50}, {75, 150}, {225, 150}, {140, 90}, {160, 90}, {140, 110}, {160, 110}} {
			x, y := p.X/k, p.Y/k
			want := quadrantAt(p.X, p.Y, 300, 200)
			if got := img.NRGBAAt(x, y); !near(got, want, 30) {
				t.Errorf("size %d: at %v (canvas %d,%d) %v, want %v", size, p, x, y, got, want)
			}
		}
	}
}

// TestHEIFGridMatchesWhole: the tiled decode gives the picture libheif
// composes whole, at full size and shrunk to avatars.
func TestHEIFGridMatchesWhole(t *testing.T) {
	for _, name := range []string{"grid-3x2.heic", "grid-2x2.heic"} {
		t.Run(name, func(t *testing.T) {
			in := readTestdata(t, name)
			ref := whole(t, in)
			full, err := tiled(t, in, 1000, true)
			if err != nil {
				t.Fatal(err)
			}
			// libheif's own composition takes the tiles' colour through a
			// conversion and back: 1-2 levels of chroma.
			if d := meanDiff(full, ref); d > 2.5 {
				t.Errorf("at full size, %.2f levels from the whole decode", d)
			}
			for _, crop := range []bool{true, false} {
				img, err := tiled(t, in, 32, crop)
				if err != nil {
					t.Fatal(err)
				}
				a := shapeDecoded(formatHEIC, in, img, 32, crop).img
				b := shapeDecoded(formatHEIC, in, ref, 32, crop).img
				if d := meanDiff(a, b); d > 4 {
					t.Errorf("crop %v: the 32 px avatar is %.2f levels from the whole decode's", crop, d)
				} else {
					t.Logf("crop %v: %.2f levels from the whole decode's", crop, d)
				}
			}
		})
	}
}

// TestHEIFGridTurns: a grid's rotation and mirror turn the composed
// picture as libheif turns it whole, in the order the properties come.
func TestHEIFGridTurns(t *testing.T) {
	irot := func(a byte) []byte { return box("irot", []byte{a}) }
	imir := func(axis byte) []byte { return box("imir", []byte{axis}) }
	for _, tc := range []struct {
		name  string
		props [][]byte
		w, h  int
	}{
		{"irot 1", [][]byte{irot(1)}, 200, 300},
		{"irot 2", [][]byte{irot(2)}, 300, 200},
		{"irot 3", [][]byte{irot(3)}, 200, 300},
		{"imir 0", [][]byte{imir(0)}, 300, 200},
		{"imir 1", [][]byte{imir(1)}, 300, 200},
		{"irot 1, imir 0", [][]byte{irot(1), imir(0)}, 200, 300},
		{"imir 0, irot 1", [][]byte{imir(0), irot(1)}, 200, 300},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := grid3x2(t, func(l *heifgrid.Layout, _ [][]byte) { l.Props = tc.props })
			ref := whole(t, in)
			if b := ref.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
				t.Fatalf("libheif made %v, want %dx%d", b, tc.w, tc.h)
			}
			img, err := tiled(t, in, 1000, true)
			if err != nil {
				t.Fatal(err)
			}
			if d := meanDiff(img, ref); d > 2.5 {
				t.Errorf("%.2f levels from the whole decode: turned otherwise", d)
			}
		})
	}
}

// TestHEIFGridBroken: grids that contradict themselves are refused as
// corrupt, before or while their tiles are decoded; one over the limits as
// too large, from the header.
func TestHEIFGridBroken(t *testing.T) {
	setISPE := func(tile []byte, w, h int) {
		i := strings.Index(string(tile), "ispe")
		binary.BigEndian.PutUint32(tile[i+8:], uint32(w))
		binary.BigEndian.PutUint32(tile[i+12:], uint32(h))
	}
	tests := []struct {
		name   string
		change func(l *heifgrid.Layout, tiles [][]byte)
		want   error
		text   string
	}{
		{"a missing tile", func(l *heifgrid.Layout, _ [][]byte) { l.Refs = []int{0, 1, 2, 3, 4, 9} }, ErrCorrupt, "tile"},
		{"too few tiles for the payload", func(l *heifgrid.Layout, _ [][]byte) { l.Rows = 3 }, ErrCorrupt, "refers to 6"},
		{"too many tiles for the payload", func(l *heifgrid.Layout, _ [][]byte) { l.Cols = 2; l.Width = 200 }, ErrCorrupt, "refers to 6"},
		{"payload and ispe differ", func(l *heifgrid.Layout, _ [][]byte) { l.ISPE = image.Pt(290, 200) }, ErrCorrupt, "its image size property 290x200"},
		{"tiles of two sizes", func(_ *heifgrid.Layout, tiles [][]byte) { setISPE(tiles[4], 120, 128) }, ErrCorrupt, "tile 5"},
		{"tiles that do not reach the edge", func(l *heifgrid.Layout, _ [][]byte) { l.Width = 400 }, ErrCorrupt, "do not make"},
		{"a column of tiles outside", func(l *heifgrid.Layout, _ [][]byte) { l.Width = 250 }, ErrCorrupt, "do not make"},
		{"over the pixel limit", func(l *heifgrid.Layout, _ [][]byte) { l.Width, l.Height = 60000, 60000; l.Wide = true }, ErrTooLarge, "60000x60000"},
	}
	for _, tt := range tests {
		in := grid3x2(t, tt.change)
		for _, std := range []Standard{goHEIF} {
			t.Run(tt.name+" "+std.Backend, func(t *testing.T) {
				_, err := std.Make(context.Background(), in)
				if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.text) {
					t.Fatalf("err = %v, want %v naming %q", err, tt.want, tt.text)
				}
			})
		}
	}
}

// TestHEIFGridTileSize: a tile that decodes to another size than its
// image size property is refused. (libheif itself crops a tile to a
// smaller ispe, and the WebAssembly build's glue takes a larger one for
// the size of what it copies out, so a decoder is stubbed here.)
func TestHEIFGridTileSize(t *testing.T) {
	in := readTestdata(t, "grid-3x2.heic")
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	_, err = info.decodeGrid(context.Background(), formatHEIC, in, 64, true, func(tile []byte) (image.Image, error) {
		if n++; n == 4 {
			return image.NewNRGBA(image.Rect(0, 0, 128, 120)), nil
		}
		return decodeWasm(formatHEIC, tile)
	}, 1)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "tile 4 is 128x120, its image size property says 128x128") {
		t.Fatalf("err = %v, want ErrCorrupt for tile 4", err)
	}
}

// TestHEIFGridCancelled: the tiled decode stops between tiles when the
// MMS's context ends.
func TestHEIFGridCancelled(t *testing.T) {
	in := readTestdata(t, "grid-3x2.heic")
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	decoded := 0
	_, err = info.decodeGrid(ctx, formatHEIC, in, 64, true, func(tile []byte) (image.Image, error) {
		decoded++
		cancel()
		return decodeWasm(formatHEIC, tile)
	}, 1)
	if !errors.Is(err, context.Canceled) || decoded != 1 {
		t.Fatalf("err = %v after %d tiles, want context.Canceled after 1", err, decoded)
	}
}

// TestHEIFGridAvatar makes avatars of grids in each backend: the quarters
// where they belong, and a grid of 4 MP without a thumbnail, over what the
// pure-Go backend decodes whole, taken a tile at a time.
func TestHEIFGridAvatar(t *testing.T) {
	// 16x16 tiles of 128 making 2000x2000, the six tiles of the fixture
	// over and over.
	big := grid3x2(t, func(l *heifgrid.Layout, _ [][]byte) {
		l.Rows, l.Cols, l.Width, l.Height = 16, 16, 2000, 2000
		l.Refs = make([]int, 256)
		for i := range l.Refs {
			l.Refs[i] = i % 6
		}
	})
	for _, be := range Backends() {
		t.Run(be, func(t *testing.T) {
			std := Standard{Backend: be, Size: 64}
			got, err := std.Make(context.Background(), readTestdata(t, "grid-3x2.heic"))
			if err != nil {
				t.Fatal(err)
			}
			img := checkAvatar(t, std, got, 64)
			// A centre crop of 300x200 keeps x 50..250: the quarters meet
			// in the middle.
			for _, p := range []image.Point{{16, 16}, {48, 16}, {16, 48}, {48, 48}} {
				if c, want := img.NRGBAAt(p.X, p.Y), quadrantAt(p.X, p.Y, 64, 64); !near(c, want, 40) {
					t.Errorf("at %v: %v, want %v", p, c, want)
				}
			}
			if _, err := std.Make(context.Background(), big); err != nil {
				t.Fatalf("2000x2000 grid: %v", err)
			}
		})
	}
}
