package lanczos

import (
	"image"
	"image/color"
)

// rowReader returns a function that writes row y of src (counted from the
// top of its bounds) into rgb, planar: the row's R samples, then its G,
// then its B; false for a kind of picture it does not read.
func rowReader(src image.Image) (func(y int, rgb []byte), bool) {
	b := src.Bounds()
	switch p := src.(type) {
	case *image.NRGBA:
		return func(y int, rgb []byte) {
			i := p.PixOffset(b.Min.X, b.Min.Y+y)
			dropAlpha(rgb, p.Pix[i:i+4*b.Dx()])
		}, true
	case *image.RGBA:
		// Opaque, so premultiplied or not is the same.
		return func(y int, rgb []byte) {
			i := p.PixOffset(b.Min.X, b.Min.Y+y)
			dropAlpha(rgb, p.Pix[i:i+4*b.Dx()])
		}, true
	case *image.Gray:
		return func(y int, rgb []byte) {
			i := p.PixOffset(b.Min.X, b.Min.Y+y)
			n := b.Dx()
			row := p.Pix[i : i+n]
			copy(rgb[:n], row)
			copy(rgb[n:2*n], row)
			copy(rgb[2*n:3*n], row)
		}, true
	case *image.YCbCr:
		// COffset(x, y) is a part for the row plus a part for the
		// column, in every subsampling: the column parts are worked out
		// once, and each row costs one call.
		cols := make([]int, b.Dx())
		base := p.COffset(b.Min.X, b.Min.Y)
		for x := range cols {
			cols[x] = p.COffset(b.Min.X+x, b.Min.Y) - base
		}
		return func(y int, rgb []byte) {
			sy := b.Min.Y + y
			yrow := p.Y[p.YOffset(b.Min.X, sy):]
			crow := p.COffset(b.Min.X, sy)
			cb, cr := p.Cb[crow:], p.Cr[crow:]
			n := len(cols)
			r, g, bl := rgb[:n], rgb[n:2*n], rgb[2*n:3*n]
			yrow = yrow[:n]
			for x, c := range cols {
				r[x], g[x], bl[x] = color.YCbCrToRGB(yrow[x], cb[c], cr[c])
			}
		}, true
	}
	return nil, false
}

// dropAlpha writes the colour of the pixels of rgba into rgb, planar.
func dropAlpha(rgb, rgba []byte) {
	n := len(rgba) / 4
	r, g, b := rgb[:n], rgb[n:2*n], rgb[2*n:3*n]
	for i := range n {
		s := rgba[i*4 : i*4+4 : i*4+4]
		r[i], g[i], b[i] = s[0], s[1], s[2]
	}
}
