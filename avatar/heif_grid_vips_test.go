//go:build vips && cgo

package avatar

import (
	"context"
	"image"
	"image/draw"
	"testing"

	"mmsprofile/avatar/internal/heifgrid"
)

// TestHEIFGridTurnsVips: in the vips build the tiled picture turns as
// Debian's libheif (1.15, through libvips) turns the whole grid.
func TestHEIFGridTurnsVips(t *testing.T) {
	if err := vipsInit(); err != nil {
		t.Fatal(err)
	}
	for _, props := range [][][]byte{nil, {box("irot", []byte{1})}, {box("imir", []byte{0})}, {box("imir", []byte{1})}, {box("irot", []byte{3}), box("imir", []byte{0})}} {
		in := grid3x2(t, func(l *heifgrid.Layout, _ [][]byte) { l.Props = props })
		whole, err := vipsTile(in)
		if err != nil {
			t.Fatal(err)
		}
		ref := image.NewNRGBA(image.Rect(0, 0, whole.Bounds().Dx(), whole.Bounds().Dy()))
		draw.Draw(ref, ref.Rect, whole, whole.Bounds().Min, draw.Src)
		whole.(interface{ release() }).release()
		info, err := parseHEIF(in)
		if err != nil {
			t.Fatal(err)
		}
		img, err := info.decodeGrid(context.Background(), formatHEIC, in, 1000, true, vipsTile, 1)
		if err != nil {
			t.Fatal(err)
		}
		if d := meanDiff(img, ref); d > 2.5 {
			t.Errorf("%q: %v is %.2f levels from libvips' whole %v", props, img.Bounds(), d, ref.Bounds())
		}
	}
}
