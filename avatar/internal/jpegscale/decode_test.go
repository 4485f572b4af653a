package jpegscale_test

import (
	"bytes"
	"fmt"
	"image"
	"image/jpeg"
	"math"
	"testing"

	"mmsprofile/avatar/internal/jpegscale"
)

var scales = []int{2, 4, 8}

// TestReference compares each reduced decode with image/jpeg's full-size
// decode of the same file, box-averaged. Our samples are exact averages
// rounded once, the reference's are averages of rounded samples, so they
// differ by under 1 wherever nothing clips; a wrong coefficient, table,
// sample position or plane layout shows far beyond the bounds, and so
// does a rounding off by half a level, through the mean.
func TestReference(t *testing.T) {
	// Over whole cells clear of 0 and 255 (see shrink).
	const wantMax, wantMean = 1.0, 0.35
	// A partial last row or column of cells averages the encoder's
	// padding: the edge repeated, as in the reference, but quantised, and
	// these pictures are noisy.
	const wantEdge = 5.0
	tests := []struct {
		file string
		want image.Image // type only
		// Overrides for files whose colour conversion or clipping adds
		// to the difference.
		max, mean, edge, clip float64
	}{
		{file: "b420.jpg", want: &image.YCbCr{}},
		{file: "b422.jpg", want: &image.YCbCr{}},
		{file: "b444.jpg", want: &image.YCbCr{}},
		{file: "b440.jpg", want: &image.YCbCr{}},
		{file: "b411.jpg", want: &image.YCbCr{}},
		{file: "b410.jpg", want: &image.YCbCr{}},
		{file: "gray.jpg", want: &image.Gray{}},
		{file: "rst420.jpg", want: &image.YCbCr{}},
		{file: "seq3scans.jpg", want: &image.YCbCr{}},
		{file: "prog420.jpg", want: &image.YCbCr{}},
		{file: "progrst444.jpg", want: &image.YCbCr{}},
		{file: "proggray.jpg", want: &image.Gray{}},
		{file: "../../../testdata/progressive.jpg", want: &image.YCbCr{}},
		{file: "rgb.jpg", want: &image.RGBA{}},
		// Quality 5: ringing past 0 and 255 that the full decode clamps
		// sample by sample.
		{file: "ext420.jpg", want: &image.YCbCr{}, clip: 6},
		// CMYK from ImageMagick has a 0 in one of C, M, Y nearly
		// everywhere; cells that touch it are only roughly alike.
		{file: "cmyk.jpg", want: &image.CMYK{}, clip: 6},
		// YCCK: the reference converts each pixel to RGB and rounds,
		// we convert the averages; Cb and Cr count up to 1.8 times.
		{file: "ycck.jpg", want: &image.CMYK{}, max: 3.5, mean: 1.0, edge: 12, clip: 12},
	}
	for _, tt := range tests {
		data := readFile(t, tt.file)
		ref := decodeRef(t, data)
		for _, scale := range scales {
			got, err := jpegscale.Decode(data, scale)
			if err != nil {
				t.Errorf("%s 1/%d: %v", tt.file, scale, err)
				continue
			}
			if wantT, gotT := typeName(tt.want), typeName(got); wantT != gotT {
				t.Errorf("%s 1/%d: %s, want %s", tt.file, scale, gotT, wantT)
				continue
			}
			if r, ok := ref.(*image.YCbCr); ok && r.SubsampleRatio != got.(*image.YCbCr).SubsampleRatio {
				t.Errorf("%s 1/%d: %v, want %v", tt.file, scale, got.(*image.YCbCr).SubsampleRatio, r.SubsampleRatio)
			}
			d := merge(compare(t, ref, got, scale))
			t.Logf("%s 1/%d: %v", tt.file, scale, d)
			maxOK, meanOK, edgeOK := wantMax, wantMean, wantEdge
			if tt.max > 0 {
				maxOK, meanOK, edgeOK = tt.max, tt.mean, tt.edge
			}
			if d.max > maxOK || d.mean > meanOK || d.edgeMax > edgeOK || d.clipMax > tt.clip {
				t.Errorf("%s 1/%d: %v, want max %.2f mean %.2f edge %.2f clipped %.2f",
					tt.file, scale, d, maxOK, meanOK, edgeOK, tt.clip)
			}
		}
	}
}

func typeName(img image.Image) string { return fmt.Sprintf("%T", img) }

// TestSubsampledYCCK decodes a YCCK picture whose chroma is 4:2:0. K is
// as exact as any plane; C, M and Y are not, by design: their reduced
// chroma is spread over the pixels it covers, while the reference
// spreads full-size chroma before averaging, so a steep gradient (this
// one crosses 255 levels in 48 rows) shows the coarser chroma.
func TestSubsampledYCCK(t *testing.T) {
	data := readFile(t, "../../../testdata/cmyk.jpg")
	ref := decodeRef(t, data)
	for _, scale := range scales {
		got, err := jpegscale.Decode(data, scale)
		if err != nil {
			t.Fatalf("1/%d: %v", scale, err)
		}
		ds := compare(t, ref, got, scale)
		t.Logf("1/%d: CMY %v, K %v", scale, merge(ds[:3]), ds[3])
		if k := ds[3]; k.max > 1 || k.mean > 0.5 || k.edgeMax > 1 {
			t.Errorf("1/%d: K %v", scale, k)
		}
		if cmy := merge(ds[:3]); cmy.mean > 1.6*float64(scale) {
			t.Errorf("1/%d: CMY %v", scale, cmy)
		}
	}
}

// TestSizes decodes pictures of awkward sizes, down to a single pixel,
// as image/jpeg encodes them (4:2:0 colour, and grey). Their content
// changes at the same pace whatever the size, so that the padding of
// partial blocks, which the encoder fills with the edge repeated, stays
// close to what the reference repeats (see shrink).
func TestSizes(t *testing.T) {
	sides := []int{1, 2, 3, 7, 8, 9, 15, 16, 17, 23, 33}
	for _, w := range sides {
		for _, h := range sides {
			src := image.NewRGBA(image.Rect(0, 0, w, h))
			gray := image.NewGray(src.Rect)
			for y := range h {
				for x := range w {
					fx, fy := float64(x), float64(y)
					i := src.PixOffset(x, y)
					src.Pix[i+0] = uint8(128 + 40*math.Sin(fx/5) + 30*math.Cos(fy/7))
					src.Pix[i+1] = uint8(100 + 50*math.Sin((fx+fy)/9))
					src.Pix[i+2] = uint8(150 - 40*math.Cos(fx/4) + 20*math.Sin(fy/3))
					src.Pix[i+3] = 0xff
					gray.Pix[y*gray.Stride+x] = src.Pix[i+1]
				}
			}
			for _, img := range []image.Image{src, gray} {
				var buf bytes.Buffer
				if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 95}); err != nil {
					t.Fatal(err)
				}
				ref := decodeRef(t, buf.Bytes())
				for _, scale := range scales {
					got, err := jpegscale.Decode(buf.Bytes(), scale)
					if err != nil {
						t.Fatalf("%dx%d %T 1/%d: %v", w, h, img, scale, err)
					}
					d := merge(compare(t, ref, got, scale))
					if d.max > 1 || d.edgeMax > 3 || d.mean > 1.5 {
						t.Errorf("%dx%d %T 1/%d: %v", w, h, img, scale, d)
					}
				}
			}
		}
	}
}
