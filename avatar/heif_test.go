package avatar

import (
	"bytes"
	"cmp"
	"context"
	"encoding/binary"
	"errors"
	"image"
	"image/png"
	"strings"
	"testing"
)

// goHEIF is the pure-Go build's standard: whatever the build, these tests
// are about the WebAssembly decoders and the Go container code.
var goHEIF = Standard{Backend: "go"}

// TestHEIFGoBackend decodes what phones send with the pure-Go backend:
// iPhone HEIC, Android AVIF, both with the thumbnail heif-enc -t 320 wrote.
func TestHEIFGoBackend(t *testing.T) {
	for _, name := range []string{"photo-thumb.heic", "photo-thumb.avif", "quadrants.heic", "quadrants.avif"} {
		t.Run(name, func(t *testing.T) {
			in := readTestdata(t, name)
			got, err := goHEIF.Make(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			checkAvatar(t, goHEIF, got, 128)
		})
	}
}

// damagePrimary overwrites the coded data of the primary picture, so that
// only a decode of the thumbnail can succeed.
func damagePrimary(t *testing.T, in []byte) []byte {
	t.Helper()
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	out := bytes.Clone(in)
	loc := info.raw.locs[info.primary]
	if len(loc.extents) == 0 {
		t.Fatal("no location for the primary picture")
	}
	for _, e := range loc.extents {
		for i := e[0]; i < e[0]+e[1]; i++ {
			out[i] = 0x5a
		}
	}
	return out
}

// TestHEIFThumbnail checks that a photo with a thumbnail big enough for the
// avatar is made from the thumbnail, and that one too small for the size
// asked is not.
func TestHEIFThumbnail(t *testing.T) {
	for _, name := range []string{"photo-thumb.heic", "photo-thumb.avif"} {
		t.Run(name, func(t *testing.T) {
			in := readTestdata(t, name)
			info, err := parseHEIF(in)
			if err != nil {
				t.Fatal(err)
			}
			if len(info.thumbs) != 1 || info.thumbs[0].width != 320 || info.thumbs[0].height != 240 {
				t.Fatalf("thumbnails %+v, want one of 320x240", info.thumbs)
			}
			whole, err := goHEIF.Make(context.Background(), in)
			if err != nil {
				t.Fatal(err)
			}
			damaged := damagePrimary(t, in)
			fromThumb, err := goHEIF.Make(context.Background(), damaged)
			if err != nil {
				t.Fatalf("with the primary picture damaged: %v (the thumbnail was not used)", err)
			}
			// The same picture, whichever it came from.
			a, b := decodePNG(t, whole.Data), decodePNG(t, fromThumb.Data)
			if d := meanDiff(a, b); d > 6 {
				t.Errorf("avatar from the thumbnail differs from the whole picture's by %.1f levels", d)
			}
			// 300 px needs more than the thumbnail's 240: the primary is
			// decoded, and here it is damaged (dav1d makes grey of it).
			big := goHEIF
			big.Size = 300
			if _, err := big.Make(context.Background(), damaged); !errors.Is(err, ErrCorrupt) && !errors.Is(err, ErrBlank) {
				t.Fatalf("300 px from a damaged primary: err %v, want ErrCorrupt or ErrBlank", err)
			}
			if _, err := big.Make(context.Background(), in); err != nil {
				t.Fatalf("300 px: %v", err)
			}
		})
	}
}

// TestHEIFNarrow: see heicLayoutOK. The vips backend reads it.
func TestHEIFNarrow(t *testing.T) {
	in := readTestdata(t, "narrow-96.heic")
	_, err := goHEIF.Make(context.Background(), in)
	if !errors.Is(err, ErrUnsupported) || !strings.Contains(err.Error(), "narrow") {
		t.Fatalf("err = %v, want ErrUnsupported for a narrow HEIC", err)
	}
	if backendName() == "vips" {
		if _, err := (Standard{}).Make(context.Background(), in); err != nil {
			t.Fatalf("vips: %v", err)
		}
	}
}

// heifGrid is a HEIC container whose primary picture is a w x h grid of
// tiles tiles, with no coded data: enough for the header to be judged.
func heifGrid(tiles, items, w, h int) []byte {
	full := func(v byte, body ...byte) []byte { return append([]byte{v, 0, 0, 0}, body...) }
	u16 := func(b []byte, v int) []byte { return binary.BigEndian.AppendUint16(b, uint16(v)) }
	u32 := func(b []byte, v int) []byte { return binary.BigEndian.AppendUint32(b, uint32(v)) }

	infe := box("infe", append(full(2, 0, 1, 0, 0), "grid\x00"...))
	iinf := box("iinf", append(u16(full(0), items), infe...))
	dimg := u16(u16(nil, 1), tiles)
	for i := range tiles {
		dimg = u16(dimg, i+2)
	}
	iref := box("iref", append(full(0), box("dimg", dimg)...))
	ispe := box("ispe", u32(u32(full(0), w), h))
	ipma := box("ipma", append(u32(full(0), 1), 0, 1, 1, 0x81))
	iprp := box("iprp", append(box("ipco", ispe), ipma...))
	hdlr := box("hdlr", append(append(full(0, 0, 0, 0, 0), "pict"...), make([]byte, 13)...))
	meta := full(0)
	for _, b := range [][]byte{hdlr, box("pitm", full(0, 0, 1)), iinf, iref, iprp} {
		meta = append(meta, b...)
	}
	out := box("ftyp", []byte("heic\x00\x00\x00\x00mif1heic"))
	return append(out, box("meta", meta)...)
}

// TestHEIFHostileHeaders checks the container limits: each is refused from
// the header, in either backend, before a decoder sees the file.
func TestHEIFHostileHeaders(t *testing.T) {
	bomb := bytes.Clone(readTestdata(t, "photo-thumb.avif"))
	i := bytes.Index(bomb, []byte("ispe"))
	binary.BigEndian.PutUint32(bomb[i+8:], 60000)
	binary.BigEndian.PutUint32(bomb[i+12:], 60000)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"1000 tiles", heifGrid(1000, 1, 1024, 1024), "1000 tiles"},
		{"60000 items", heifGrid(4, 60000, 1024, 1024), "60000 items"},
		{"grid bomb 60000x60000", heifGrid(4, 5, 60000, 60000), "60000x60000"},
		{"AVIF bomb 60000x60000", bomb, "60000x60000"},
	}
	for _, tt := range tests {
		for _, std := range []Standard{goHEIF, {}} {
			t.Run(tt.name+" "+cmp.Or(std.Backend, backendName()), func(t *testing.T) {
				_, err := std.Make(context.Background(), tt.in)
				if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tt.want) {
					t.Fatalf("err = %v, want ErrTooLarge naming %q", err, tt.want)
				}
			})
		}
	}
	// A picture without a thumbnail, claiming 4 MP: under MaxPixels, but
	// over what the WebAssembly decoder is allowed to decode whole.
	big := bytes.Clone(readTestdata(t, "quadrants.heic"))
	i = bytes.Index(big, []byte("ispe"))
	binary.BigEndian.PutUint32(big[i+8:], 2000)
	binary.BigEndian.PutUint32(big[i+12:], 2000)
	if _, err := goHEIF.Make(context.Background(), big); !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), "no thumbnail") {
		t.Fatalf("4 MP HEIC without a thumbnail: err = %v, want ErrTooLarge", err)
	}
	// Within the limits the same grid gets as far as the decoder, which
	// finds no tiles.
	if _, err := goHEIF.Make(context.Background(), heifGrid(4, 5, 1024, 1024)); !errors.Is(err, ErrCorrupt) {
		t.Fatalf("a grid of 4 missing tiles: err = %v, want ErrCorrupt", err)
	}
}

// TestExtractThumbIsAHEIF checks the file extractThumb writes by reading it
// back: one item, the thumbnail's size, its coded data.
func TestExtractThumbIsAHEIF(t *testing.T) {
	in := readTestdata(t, "photo-thumb.heic")
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	small, err := info.extractThumb(in, info.thumbs[0])
	if err != nil {
		t.Fatal(err)
	}
	again, err := parseHEIF(small)
	if err != nil {
		t.Fatal(err)
	}
	if w, h := again.raw.size(again.primary); w != 320 || h != 240 || again.primaryType != "hvc1" || len(again.thumbs) != 0 {
		t.Fatalf("extracted: primary %s %dx%d, thumbnails %v", again.primaryType, w, h, again.thumbs)
	}
	src, dst := info.raw.locs[info.thumbs[0].id].extents[0], again.raw.locs[again.primary].extents[0]
	if !bytes.Equal(in[src[0]:src[0]+src[1]], small[dst[0]:dst[0]+dst[1]]) {
		t.Fatal("the coded data moved wrongly")
	}
}

// TestExtractThumbWithoutSize checks that a thumbnail with no image size
// property of its own is not written out: the file would name no size,
// and a decoder refuses that (found by FuzzHEIFContainer).
func TestExtractThumbWithoutSize(t *testing.T) {
	in := readTestdata(t, "photo-thumb.heic")
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	th := info.thumbs[0]
	var kept []int
	for _, idx := range info.raw.assoc[th.id] {
		if string(info.raw.props[idx-1][4:8]) != "ispe" {
			kept = append(kept, idx)
		}
	}
	info.raw.assoc[th.id] = kept
	th.width, th.height = info.raw.size(th.id)
	if small, err := info.extractThumb(in, th); err == nil {
		_, perr := parseHEIF(small)
		t.Fatalf("a thumbnail without ispe was extracted (reads back: %v)", perr)
	}
}

func decodePNG(t *testing.T, b []byte) *image.NRGBA {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	out := image.NewNRGBA(img.Bounds())
	for y := range img.Bounds().Dy() {
		for x := range img.Bounds().Dx() {
			out.Set(x, y, img.At(x, y))
		}
	}
	return out
}

// meanDiff is the mean absolute difference of the colour channels.
func meanDiff(a, b *image.NRGBA) float64 {
	if a.Bounds() != b.Bounds() {
		return 255
	}
	var sum float64
	n := 0
	for i := range a.Pix {
		if i%4 == 3 {
			continue
		}
		d := int(a.Pix[i]) - int(b.Pix[i])
		if d < 0 {
			d = -d
		}
		sum += float64(d)
		n++
	}
	return sum / float64(n)
}

// TestHEIFThumbnailTurnsLikePrimary: a phone's portrait photo is stored
// landscape with an irot property; a thumbnail without one of its own takes
// the primary's, so the avatar made from it is upright too.
func TestHEIFThumbnailTurnsLikePrimary(t *testing.T) {
	in := readTestdata(t, "photo-thumb.heic")
	info, err := parseHEIF(in)
	if err != nil {
		t.Fatal(err)
	}
	// irot, angle 1: 90 degrees anticlockwise.
	info.raw.props = append(info.raw.props, box("irot", []byte{1}))
	info.raw.assoc[info.primary] = append(info.raw.assoc[info.primary], len(info.raw.props))
	small, err := info.extractThumb(in, info.thumbs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(small, []byte("irot")) {
		t.Fatal("the primary's rotation was not carried over")
	}
	img, err := decodeWasm(formatHEIC, small)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 240 || b.Dy() != 320 {
		t.Fatalf("turned thumbnail is %v, want 240x320", b)
	}
}

// TestHEIFBackendsAgree: the pure-Go backend's HEIC and AVIF avatars (from
// the thumbnail) look like libvips' (which also takes the thumbnail).
func TestHEIFBackendsAgree(t *testing.T) {
	if len(Backends()) < 2 {
		t.Skip("only the pure-Go backend in this build (go test -tags vips)")
	}
	for _, name := range []string{"photo-thumb.heic", "photo-thumb.avif"} {
		t.Run(name, func(t *testing.T) {
			in := readTestdata(t, name)
			var outs []*image.NRGBA
			for _, be := range Backends() {
				got, err := Standard{Backend: be}.Make(context.Background(), in)
				if err != nil {
					t.Fatalf("%s: %v", be, err)
				}
				outs = append(outs, decodePNG(t, got.Data))
			}
			if d := meanDiff(outs[0], outs[1]); d > 4 {
				t.Errorf("backends differ by %.2f levels on average, want <= 4", d)
			} else {
				t.Logf("backends differ by %.2f levels on average", d)
			}
		})
	}
}

// TestHEIFRenditionsFromThumbnail: a photo too large to decode whole in
// WebAssembly gets the renditions its thumbnail can fill, not a refusal.
func TestHEIFRenditionsFromThumbnail(t *testing.T) {
	in := bytes.Clone(readTestdata(t, "photo-thumb.heic"))
	// The primary's ispe (the first) claims 2400x1800: 4.3 MP, the
	// thumbnail's shape.
	i := bytes.Index(in, []byte("ispe"))
	binary.BigEndian.PutUint32(in[i+8:], 2400)
	binary.BigEndian.PutUint32(in[i+12:], 1800)
	std := goHEIF
	std.Renditions = []int{200, 512}
	got, err := std.Make(context.Background(), in)
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Renditions) != 1 || got.Renditions[0].Width != 200 {
		t.Fatalf("renditions %+v, want only the 200 px one the thumbnail fills", got.Renditions)
	}
}
