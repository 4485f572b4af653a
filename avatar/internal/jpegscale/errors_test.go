package jpegscale_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"mmsprofile/avatar/internal/jpegscale"
)

// TestRefused feeds pictures this decoder must turn down, each with the
// error that tells the caller whether image/jpeg is worth a try.
func TestRefused(t *testing.T) {
	base := readFile(t, "b420.jpg")
	prog := readFile(t, "prog420.jpg")
	sof := find(t, base, 0xc0, 0)
	sos := find(t, base, 0xda, 0)
	dht := find(t, base, 0xc4, 0)
	dqt := find(t, base, 0xdb, 0)
	// Offsets into the frame header (T.81 B.2.2) and scan header (B.2.3).
	p, comp := sof.off+4, func(i int) int { return sof.off + 10 + 3*i }
	scomp := func(i int) int { return sos.off + 5 + 2*i }
	patch := func(data []byte, off int, b ...byte) []byte {
		out := bytes.Clone(data)
		copy(out[off:], b)
		return out
	}
	sofPayload := func(nf int) []byte {
		b := []byte{8, 0, 16, 0, 16, byte(nf)}
		for i := range nf {
			b = append(b, byte(i+1), 0x11, 0)
		}
		return b
	}
	progScan := find(t, prog, 0xda, 1) // AC, Ss=1 Se=5
	fill := bytes.Repeat([]byte{0xff, 0x00}, 64)

	tests := []struct {
		name  string
		data  []byte
		scale int
		want  error
	}{
		{"scale 1", base, 1, jpegscale.ErrUnsupported},
		{"scale 3", base, 3, jpegscale.ErrUnsupported},
		{"scale 16", base, 16, jpegscale.ErrUnsupported},
		{"12-bit", patch(base, p, 12), 8, jpegscale.ErrUnsupported},
		{"lossless SOF3", patch(base, sof.off+1, 0xc3), 8, jpegscale.ErrUnsupported},
		{"hierarchical SOF5", patch(base, sof.off+1, 0xc5), 8, jpegscale.ErrUnsupported},
		{"arithmetic coding", readFile(t, "arith.jpg"), 8, jpegscale.ErrUnsupported},
		{"height from DNL", patch(base, p+1, 0, 0), 8, jpegscale.ErrUnsupported},
		{"two components", splice(base, sof.off, sof.end, segment(0xc0, sofPayload(2))), 8, jpegscale.ErrUnsupported},
		{"five components", splice(base, sof.off, sof.end, segment(0xc0, sofPayload(5))), 8, jpegscale.ErrUnsupported},
		{"chroma sampled finer than luma", patch(patch(base, comp(0)+1, 0x11), comp(1)+1, 0x22), 8, jpegscale.ErrUnsupported},
		{"luma 3x1", patch(base, comp(0)+1, 0x31), 8, jpegscale.ErrUnsupported},
		{"Cb and Cr sampled apart", patch(base, comp(2)+1, 0x21), 8, jpegscale.ErrUnsupported},

		{"not a JPEG", []byte("GIF89a\x01\x00\x01\x00"), 8, jpegscale.ErrCorrupt},
		{"empty", nil, 8, jpegscale.ErrCorrupt},
		{"SOI alone", []byte{0xff, 0xd8}, 8, jpegscale.ErrCorrupt},
		{"width 0", patch(base, p+3, 0, 0), 8, jpegscale.ErrCorrupt},
		{"sampling factor 5", patch(base, comp(0)+1, 0x51), 8, jpegscale.ErrCorrupt},
		{"sampling factor 0", patch(base, comp(1)+1, 0x10), 8, jpegscale.ErrCorrupt},
		{"quantisation table 4", patch(base, comp(0)+2, 4), 8, jpegscale.ErrCorrupt},
		{"undefined quantisation table", patch(base, comp(0)+2, 3), 8, jpegscale.ErrCorrupt},
		{"component id twice", patch(base, comp(1), 1), 8, jpegscale.ErrCorrupt},
		{"SOF length", patch(base, sof.off+3, byte(sof.end-sof.off-2+3)), 8, jpegscale.ErrCorrupt},
		{"second SOF", splice(base, sof.end, sof.end, base[sof.off:sof.end]), 8, jpegscale.ErrCorrupt},
		{"SOS before SOF", splice(base, sof.off, sof.end, nil), 8, jpegscale.ErrCorrupt},
		{"no SOS", base[:sos.off], 8, jpegscale.ErrCorrupt},
		{"EOI before SOS", append(bytes.Clone(base[:sos.off]), 0xff, 0xd9), 8, jpegscale.ErrCorrupt},
		{"SOS cut short", base[:sos.off+7], 8, jpegscale.ErrCorrupt},
		{"scan of an unknown component", patch(base, scomp(0), 9), 8, jpegscale.ErrCorrupt},
		{"component twice in a scan", patch(base, scomp(1), 1), 8, jpegscale.ErrCorrupt},
		{"undefined Huffman table", patch(base, scomp(1)+1, 0x33), 8, jpegscale.ErrCorrupt},
		{"Huffman table 4", patch(base, scomp(1)+1, 0x04), 8, jpegscale.ErrCorrupt},
		{"too many short codes", splice(base, dht.off, dht.end,
			segment(0xc4, append([]byte{0x00, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}, 0, 1, 2))), 8, jpegscale.ErrCorrupt},
		{"DHT cut short", splice(base, dht.off, dht.end, segment(0xc4, []byte{0x00, 1, 0, 0})), 8, jpegscale.ErrCorrupt},
		{"DHT class 2", patch(base, dht.off+4, 0x20), 8, jpegscale.ErrCorrupt},
		{"DQT precision 2", patch(base, dqt.off+4, 0x20), 8, jpegscale.ErrCorrupt},
		{"DQT cut short", splice(base, dqt.off, dqt.end, segment(0xdb, []byte{0x00, 1, 2, 3})), 8, jpegscale.ErrCorrupt},
		{"DRI length", splice(base, sof.off, sof.off, segment(0xdd, []byte{0, 1, 2})), 8, jpegscale.ErrCorrupt},
		{"segment length 1", patch(base, dqt.off+2, 0, 1), 8, jpegscale.ErrCorrupt},
		{"bad Huffman code", splice(base, sos.end-200, sos.end, fill), 8, jpegscale.ErrCorrupt},
		{"bad Huffman code at 1/2", splice(base, sos.end-200, sos.end, fill), 2, jpegscale.ErrCorrupt},
		{"progressive Ss > Se", patch(prog, progScan.off+7, 6), 4, jpegscale.ErrCorrupt},
		{"progressive Se 64", patch(prog, progScan.off+8, 64), 4, jpegscale.ErrCorrupt},
		{"progressive Al 14", patch(prog, progScan.off+9, 0x0e), 4, jpegscale.ErrCorrupt},
		{"progressive DC scan with AC", patch(prog, find(t, prog, 0xda, 0).off+12, 5), 4, jpegscale.ErrCorrupt},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := jpegscale.Decode(tt.data, tt.scale)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, %v; want %v", img, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "jpegscale: ") {
				t.Errorf("error %q lacks the package prefix", err)
			}
			t.Log(err)
		})
	}
}
