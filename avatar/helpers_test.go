package avatar

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
)

// noise is the worst case for any compressor: every channel random.
func noise(w, h int, seed uint64) *image.NRGBA {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, 1))
	for i := range img.Pix {
		img.Pix[i] = uint8(rng.Uint32())
	}
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
	return img
}

func encodeJPEG(tb testing.TB, img image.Image, quality int) []byte {
	tb.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: quality}); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

func encodePNGTest(tb testing.TB, img image.Image) []byte {
	tb.Helper()
	var buf bytes.Buffer
	// Inputs need not be small; noise at 2000x2000 takes seconds otherwise.
	enc := png.Encoder{CompressionLevel: png.BestSpeed}
	if err := enc.Encode(&buf, img); err != nil {
		tb.Fatal(err)
	}
	return buf.Bytes()
}

// exifSegment builds an APP1 Exif segment with IFD0 holding Orientation and
// an ImageDescription, and a GPS IFD holding a latitude reference, in the
// given byte order, as cameras write them.
func exifSegment(orientation int, bo binary.ByteOrder, description string) []byte {
	var t bytes.Buffer
	if bo == binary.BigEndian {
		t.WriteString("MM\x00*")
	} else {
		t.WriteString("II*\x00")
	}
	put16 := func(v uint16) { _ = binary.Write(&t, bo, v) }
	put32 := func(v uint32) { _ = binary.Write(&t, bo, v) }
	desc := description + "\x00"
	const ifd0 = 8
	const entries = 3
	gpsIFD := uint32(ifd0 + 2 + entries*12 + 4)
	descAt := gpsIFD + 2 + 12 + 4
	put32(ifd0)
	put16(entries)
	// ImageDescription, ASCII
	put16(0x010e)
	put16(2)
	put32(uint32(len(desc)))
	put32(descAt)
	// Orientation, SHORT, left-justified in the value field
	put16(0x0112)
	put16(3)
	put32(1)
	put16(uint16(orientation))
	put16(0)
	// GPSInfo IFD pointer, LONG
	put16(0x8825)
	put16(4)
	put32(1)
	put32(gpsIFD)
	put32(0) // no IFD1
	// GPS IFD: GPSLatitudeRef "N"
	put16(1)
	put16(0x0001)
	put16(2)
	put32(2)
	t.WriteString("N\x00\x00\x00")
	put32(0)
	t.WriteString(desc)

	payload := append([]byte("Exif\x00\x00"), t.Bytes()...)
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(payload)+2))
	return append(seg, payload...)
}

// withSegments inserts JPEG segments right after SOI.
func withSegments(jpg []byte, segs ...[]byte) []byte {
	out := append([]byte{}, jpg[:2]...)
	for _, s := range segs {
		out = append(out, s...)
	}
	return append(out, jpg[2:]...)
}

func comSegment(text string) []byte {
	seg := []byte{0xff, 0xfe, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(text)+2))
	return append(seg, text...)
}

// withPNGChunk inserts a chunk right after IHDR, with a correct CRC.
func withPNGChunk(p []byte, typ string, data []byte) []byte {
	const afterIHDR = 8 + 4 + 4 + 13 + 4
	chunk := make([]byte, 4, 12+len(data))
	binary.BigEndian.PutUint32(chunk, uint32(len(data)))
	chunk = append(chunk, typ...)
	chunk = append(chunk, data...)
	chunk = binary.BigEndian.AppendUint32(chunk, crc32.ChecksumIEEE(chunk[4:]))
	out := append([]byte{}, p[:afterIHDR]...)
	out = append(out, chunk...)
	return append(out, p[afterIHDR:]...)
}

// quadrantColours paint a picture whose four quarters are told apart even after
// JPEG, so orientation and cropping can be checked by colour.
var quadrantColours = [4]color.NRGBA{
	{220, 20, 20, 255},  // top left: red
	{20, 200, 20, 255},  // top right: green
	{20, 20, 220, 255},  // bottom left: blue
	{230, 230, 30, 255}, // bottom right: yellow
}

func quadrantAt(x, y, w, h int) color.NRGBA {
	q := 0
	if x >= w/2 {
		q++
	}
	if y >= h/2 {
		q += 2
	}
	return quadrantColours[q]
}

func near(a, b color.NRGBA, tol int) bool {
	d := func(x, y uint8) bool { return int(x)-int(y) <= tol && int(y)-int(x) <= tol }
	return d(a.R, b.R) && d(a.G, b.G) && d(a.B, b.B) && d(a.A, b.A)
}

// displayedAt returns where stored pixel (x, y) of a sw x sh picture with
// EXIF orientation o is shown, from the EXIF table of where stored row 0
// and column 0 belong.
func displayedAt(o, x, y, sw, sh int) (int, int) {
	switch o {
	case 2: // row 0 top, column 0 right
		return sw - 1 - x, y
	case 3: // bottom, right
		return sw - 1 - x, sh - 1 - y
	case 4: // bottom, left
		return x, sh - 1 - y
	case 5: // row 0 left, column 0 top
		return y, x
	case 6: // right, top
		return sh - 1 - y, x
	case 7: // right, bottom
		return sh - 1 - y, sw - 1 - x
	case 8: // left, bottom
		return y, sw - 1 - x
	}
	return x, y
}

// storedAs draws the picture a user saw, of dw x dh, the way a camera with
// EXIF orientation o stores it.
func storedAs(o, dw, dh int, seen func(x, y int) color.NRGBA) *image.NRGBA {
	sw, sh := dw, dh
	if o >= 5 {
		sw, sh = dh, dw
	}
	stored := image.NewNRGBA(image.Rect(0, 0, sw, sh))
	for y := range sh {
		for x := range sw {
			stored.SetNRGBA(x, y, seen(displayedAt(o, x, y, sw, sh)))
		}
	}
	return stored
}

// readTestdata returns a file of testdata/.
func readTestdata(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// backendName is the backend a zero Standard uses in this build.
func backendName() string { return Backends()[0] }
