package jpegscale

import (
	"fmt"
	"image"
	"image/color"
)

// rgb reports whether three components are R, G and B rather than Y, Cb
// and Cr, by the rules image/jpeg follows: JFIF means YCbCr, an Adobe
// marker says so with transform 0, and otherwise the component ids tell.
func (d *decoder) rgb() bool {
	switch {
	case d.jfif:
		return false
	case d.adobe:
		return d.adobeTransform == 0
	}
	return d.comps[0].id == 'R' && d.comps[1].id == 'G' && d.comps[2].id == 'B'
}

// ycck reports whether four components are YCbCr and K rather than CMYK:
// only an Adobe marker with a non-zero transform says so, as image/jpeg
// has it.
func (d *decoder) ycck() bool { return d.adobe && d.adobeTransform != 0 }

// checkLayout refuses sampling factors the result cannot express. YCbCr
// must have one of image.YCbCr's subsampling ratios; other layouts (luma
// not the largest, chroma planes unlike each other, ratios like 3:1) are
// ErrUnsupported rather than resampled, being too rare to be worth it.
// RGB, CMYK and YCCK are interleaved into one pixel array, so any
// component whose factors divide the largest will do.
func (d *decoder) checkLayout() error {
	if d.nf == 3 && !d.rgb() {
		if _, ok := d.ratio(); !ok {
			return fmt.Errorf("jpegscale: YCbCr sampled %dx%d, %dx%d, %dx%d: %w",
				d.comps[0].h, d.comps[0].v, d.comps[1].h, d.comps[1].v, d.comps[2].h, d.comps[2].v, ErrUnsupported)
		}
		return nil
	}
	for i := range d.nf {
		if c := &d.comps[i]; d.hmax%c.h != 0 || d.vmax%c.v != 0 {
			return fmt.Errorf("jpegscale: component %d sampled %dx%d of %dx%d: %w", c.id, c.h, c.v, d.hmax, d.vmax, ErrUnsupported)
		}
	}
	return nil
}

func (d *decoder) ratio() (image.YCbCrSubsampleRatio, bool) {
	y, cb, cr := &d.comps[0], &d.comps[1], &d.comps[2]
	if cb.h != cr.h || cb.v != cr.v || y.h%cb.h != 0 || y.v%cb.v != 0 {
		return 0, false
	}
	switch [2]int{y.h / cb.h, y.v / cb.v} {
	case [2]int{1, 1}:
		return image.YCbCrSubsampleRatio444, true
	case [2]int{2, 1}:
		return image.YCbCrSubsampleRatio422, true
	case [2]int{2, 2}:
		return image.YCbCrSubsampleRatio420, true
	case [2]int{1, 2}:
		return image.YCbCrSubsampleRatio440, true
	case [2]int{4, 1}:
		return image.YCbCrSubsampleRatio411, true
	case [2]int{4, 2}:
		return image.YCbCrSubsampleRatio410, true
	}
	return 0, false
}

// image wraps the reduced planes in the image type their colour space
// calls for. Planes keep their whole-MCU padding beyond the picture's
// edge; the strides step over it.
func (d *decoder) image() (image.Image, error) {
	// An APP marker after the SOF may have changed what the components
	// are.
	if err := d.checkLayout(); err != nil {
		return nil, err
	}
	r := image.Rect(0, 0, ceilDiv(d.width, d.scale), ceilDiv(d.height, d.scale))
	switch {
	case d.nf == 1:
		c := &d.comps[0]
		return &image.Gray{Pix: c.plane, Stride: c.stride, Rect: r}, nil
	case d.nf == 3 && !d.rgb():
		ratio, _ := d.ratio()
		return &image.YCbCr{
			Y: d.comps[0].plane, Cb: d.comps[1].plane, Cr: d.comps[2].plane,
			YStride: d.comps[0].stride, CStride: d.comps[1].stride,
			SubsampleRatio: ratio, Rect: r,
		}, nil
	case d.nf == 3:
		img := image.NewRGBA(r)
		d.interleave(img.Pix, img.Stride, r, func(s [4]byte) [4]byte {
			return [4]byte{s[0], s[1], s[2], 0xff}
		})
		return img, nil
	case d.ycck():
		// Adobe stores CMY inverted; converting YCC to RGB undoes that,
		// so only K is inverted (as image/jpeg does).
		img := image.NewCMYK(r)
		d.interleave(img.Pix, img.Stride, r, func(s [4]byte) [4]byte {
			cr, cg, cb := color.YCbCrToRGB(s[0], s[1], s[2])
			return [4]byte{cr, cg, cb, 255 - s[3]}
		})
		return img, nil
	default:
		img := image.NewCMYK(r)
		d.interleave(img.Pix, img.Stride, r, func(s [4]byte) [4]byte {
			return [4]byte{255 - s[0], 255 - s[1], 255 - s[2], 255 - s[3]}
		})
		return img, nil
	}
}

// interleave fills a 4-byte-per-pixel array from the planes, each sample
// repeated over the pixels its component's sampling makes it cover.
func (d *decoder) interleave(pix []byte, stride int, r image.Rectangle, conv func([4]byte) [4]byte) {
	var rx, ry [4]int
	for i := range d.nf {
		rx[i], ry[i] = d.hmax/d.comps[i].h, d.vmax/d.comps[i].v
	}
	var s [4]byte
	for y := range r.Dy() {
		row := pix[y*stride : y*stride+4*r.Dx()]
		for x := range r.Dx() {
			for i := range d.nf {
				c := &d.comps[i]
				s[i] = c.plane[y/ry[i]*c.stride+x/rx[i]]
			}
			p := conv(s)
			copy(row[4*x:4*x+4], p[:])
		}
	}
}
