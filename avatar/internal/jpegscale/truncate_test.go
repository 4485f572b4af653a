package jpegscale_test

import (
	"bytes"
	"image"
	"testing"

	"mmsprofile/avatar/internal/jpegscale"
)

// rowsEqual reports whether two decodes have the same samples in rows
// [from, to) of every channel, counted in luma rows.
func rowsEqual(t *testing.T, a, b image.Image, from, to int) bool {
	t.Helper()
	pa, pb := planes(t, a), planes(t, b)
	h := a.Bounds().Dy()
	for i := range pa {
		// Chroma rows stand for several luma rows.
		f, e := from*pa[i].h/h, to*pa[i].h/h
		for y := f; y < e; y++ {
			for x := range pa[i].w {
				if pa[i].at(x, y) != pb[i].at(x, y) {
					t.Logf("channel %d differs at %d,%d: %v vs %v", i, x, y, pa[i].at(x, y), pb[i].at(x, y))
					return false
				}
			}
		}
	}
	return true
}

// TestTruncated cuts pictures short, as a flaky upload does: they decode
// without error, what arrived is as in the whole file, and the rest is
// flat (sequential) or lacks only the detail of the missing scans
// (progressive).
func TestTruncated(t *testing.T) {
	t.Run("baseline", func(t *testing.T) {
		data := readFile(t, "b420.jpg")
		cut := data[:len(data)*6/10]
		for _, scale := range scales {
			whole, err := jpegscale.Decode(data, scale)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jpegscale.Decode(cut, scale)
			if err != nil {
				t.Fatalf("1/%d: %v", scale, err)
			}
			if got.Bounds() != whole.Bounds() {
				t.Fatalf("1/%d: %v, want %v", scale, got.Bounds(), whole.Bounds())
			}
			h := got.Bounds().Dy()
			// 60% of the bytes hold more than half of the rows.
			if !rowsEqual(t, got, whole, 0, h/2) {
				t.Errorf("1/%d: the top half differs from the whole file's", scale)
			}
			// libjpeg leaves the blocks after the data ends at zero:
			// flat mid-grey.
			for _, p := range planes(t, got) {
				for x := range p.w {
					if v := p.at(x, p.h-1); v != 128 {
						t.Fatalf("1/%d: bottom row sample %v, want 128", scale, v)
					}
				}
			}
		}
	})
	t.Run("progressive", func(t *testing.T) {
		data := readFile(t, "prog420.jpg")
		cut := data[:len(data)*6/10]
		for _, scale := range scales {
			whole, err := jpegscale.Decode(data, scale)
			if err != nil {
				t.Fatal(err)
			}
			got, err := jpegscale.Decode(cut, scale)
			if err != nil {
				t.Fatalf("1/%d: %v", scale, err)
			}
			// The cut falls early in the last scan, luma's final
			// refinement, so both DC scans arrived: at 1/8 nothing is
			// missing, and the first row of luma blocks has all its bits
			// at any scale.
			h := got.Bounds().Dy()
			to := 8 / scale
			if scale == 8 {
				to = h
			}
			if !rowsEqual(t, got, whole, 0, to) {
				t.Errorf("1/%d: rows 0-%d differ from the whole file's", scale, to)
			}
			d := merge(compare(t, decodeRef(t, data), got, scale))
			t.Logf("1/%d against the whole file: %v", scale, d)
			if d.mean > 1 || d.max > 10 {
				t.Errorf("1/%d: %v, want the detail of one missing bit at most", scale, d)
			}
		}
	})
	t.Run("anywhere", func(t *testing.T) {
		// Every cut past the first scan header decodes; before it there is
		// nothing to show.
		for _, name := range []string{"b420.jpg", "prog420.jpg", "rst420.jpg", "progrst444.jpg", "seq3scans.jpg"} {
			data := readFile(t, name)
			sos := find(t, data, 0xda, 0)
			for n := 0; n < len(data); n += 1 + n/50 {
				for _, scale := range scales {
					_, err := jpegscale.Decode(data[:n], scale)
					if complete := n >= sos.off+2+int(data[sos.off+3]); complete != (err == nil) {
						t.Fatalf("%s cut at %d, 1/%d: %v", name, n, scale, err)
					}
				}
			}
		}
	})
	t.Run("zero padding", func(t *testing.T) {
		// Some gateways pad a cut picture with zeros: they decode as data.
		data := readFile(t, "b420.jpg")
		padded := append(bytes.Clone(data[:len(data)/2]), make([]byte, 4096)...)
		if _, err := jpegscale.Decode(padded, 4); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRestartResync damages restart markers the ways libjpeg recovers
// from: the damage stays within the intervals it touches.
func TestRestartResync(t *testing.T) {
	data := readFile(t, "rst420.jpg")
	sos := find(t, data, 0xda, 0)
	// Positions of the RST markers in the entropy-coded data.
	var rst []int
	for i := sos.off + 2; i+1 < sos.end; i++ {
		if data[i] == 0xff && data[i+1] >= 0xd0 && data[i+1] <= 0xd7 {
			rst = append(rst, i)
		}
	}
	if len(rst) < 10 {
		t.Fatalf("only %d restart markers", len(rst))
	}
	whole, err := jpegscale.Decode(data, 8)
	if err != nil {
		t.Fatal(err)
	}
	// At 1/8 each 16x16 MCU is 2x2 luma samples and one Cb, one Cr.
	mcusX := (whole.Bounds().Dx() + 1) / 2
	changed := func(img image.Image) map[int]bool {
		a, b := img.(*image.YCbCr), whole.(*image.YCbCr)
		out := map[int]bool{}
		for y := range a.Rect.Dy() {
			for x := range a.Rect.Dx() {
				ya, yb := a.YCbCrAt(x, y), b.YCbCrAt(x, y)
				if ya != yb {
					out[(y/2)*mcusX+x/2] = true
				}
			}
		}
		return out
	}
	flat := func(img image.Image, mcus map[int]bool) bool {
		yc := img.(*image.YCbCr)
		for m := range mcus {
			x, y := 2*(m%mcusX), 2*(m/mcusX)
			if c := yc.YCbCrAt(x, y); c.Y != 128 || c.Cb != 128 || c.Cr != 128 {
				return false
			}
		}
		return true
	}
	const interval = 7 // MCUs, from DRI
	mcus := func(i int) map[int]bool {
		m := map[int]bool{}
		for n := i * interval; n < (i+1)*interval; n++ {
			m[n] = true
		}
		return m
	}
	tests := []struct {
		name string
		data []byte
		// The MCUs that come out flat, and those that hold another
		// interval's data, rather than as in the whole file.
		flat, moved map[int]bool
	}{
		// RST2 (ending interval 2) claims to be RST5: too far off to be
		// believed, it is taken for RST2.
		{name: "number far off", data: func() []byte { d := bytes.Clone(data); d[rst[2]+1] = 0xd5; return d }()},
		// RST2 claims to be RST3: interval 3 seems lost and is left flat;
		// the marker is then taken for RST3, so interval 4 shows what
		// interval 3 should have, after which RST3 is passed over as
		// stale and all is in step again.
		{name: "number one ahead", data: func() []byte { d := bytes.Clone(data); d[rst[2]+1] = 0xd3; return d }(),
			flat: mcus(3), moved: mcus(4)},
		// Interval 3 and RST3 lost in transit: nothing tells until RST4,
		// so interval 3 shows interval 4's data and interval 4 is flat.
		{name: "interval dropped", data: splice(data, rst[2]+2, rst[3]+2, nil), flat: mcus(4), moved: mcus(3)},
		// A stray earlier marker before RST2 is passed over.
		{name: "stale marker", data: splice(data, rst[2], rst[2], []byte{0xff, 0xd1})},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := jpegscale.Decode(tt.data, 8)
			if err != nil {
				t.Fatal(err)
			}
			for m := range changed(got) {
				if !tt.flat[m] && !tt.moved[m] {
					t.Errorf("MCU %d (interval %d) differs", m, m/interval)
				}
			}
			if !flat(got, tt.flat) {
				t.Errorf("MCUs %v are not flat grey", tt.flat)
			}
		})
	}
}
