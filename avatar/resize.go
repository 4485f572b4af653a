package avatar

import (
	"image"
	"image/color"
	"runtime"
	"sync"

	"github.com/disintegration/imaging"

	"mmsprofile/avatar/internal/lanczos"
)

// square centre-crops img to a square and resamples it to size x size;
// opaque says whether every pixel of img is.
func square(img image.Image, opaque bool, size int) *image.NRGBA {
	b := img.Bounds()
	side := min(b.Dx(), b.Dy())
	x0 := b.Min.X + (b.Dx()-side)/2
	y0 := b.Min.Y + (b.Dy()-side)/2
	return resample(img, opaque, image.Rect(x0, y0, x0+side, y0+side), size, size)
}

// fit resamples the whole of img so that its longer side is size.
func fit(img image.Image, opaque bool, size int) *image.NRGBA {
	b := img.Bounds()
	w, h := size, size
	if b.Dx() > b.Dy() {
		h = max(1, (b.Dy()*size+b.Dx()/2)/b.Dx())
	} else {
		w = max(1, (b.Dx()*size+b.Dy()/2)/b.Dy())
	}
	return resample(img, opaque, b, w, h)
}

// resample resizes the part r of img to w x h.
func resample(img image.Image, opaque bool, r image.Rectangle, w, h int) *image.NRGBA {
	// A camera photo is 20-40 times the avatar's side; a Lanczos kernel that
	// wide costs more than the JPEG decode. Averaging k x k blocks first
	// (a box filter, which does not alias) and leaving the last factor of 2
	// or more to Lanczos keeps the quality for a fraction of the work.
	if yc, ok := img.(*image.YCbCr); ok && yc.Rect.Min == (image.Point{}) {
		if k := min(r.Dx()/(2*w), r.Dy()/(2*h)); k >= 2 {
			if small := boxShrinkYCbCr(yc, r, k); small != nil {
				return lanczosResize(small, true, w, h)
			}
		}
	}
	if sub, ok := img.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		// Both resamplers read a sub-image in place; Crop would copy it
		// first.
		return lanczosResize(sub.SubImage(r), opaque, w, h)
	}
	return lanczosResize(imaging.Crop(img, r), opaque, w, h)
}

// lanczosResize resamples img to w x h with the Lanczos-3 filter: in
// fixed point when img is opaque (package lanczos, within a level of
// imaging and a fraction of its time), else through imaging, which
// weighs each sample by its alpha.
func lanczosResize(img image.Image, opaque bool, w, h int) *image.NRGBA {
	if opaque {
		if out, ok := lanczos.Resize(img, w, h); ok {
			return out
		}
	}
	return imaging.Resize(img, w, h, imaging.Lanczos)
}

// chromaShifts is a YCbCr subsampling as the shifts from a luma position
// to its chroma sample's, horizontal and vertical.
func chromaShifts(r image.YCbCrSubsampleRatio) (hs, vs uint, ok bool) {
	switch r {
	case image.YCbCrSubsampleRatio444:
		return 0, 0, true
	case image.YCbCrSubsampleRatio422:
		return 1, 0, true
	case image.YCbCrSubsampleRatio420:
		return 1, 1, true
	case image.YCbCrSubsampleRatio440:
		return 0, 1, true
	case image.YCbCrSubsampleRatio411:
		return 2, 0, true
	case image.YCbCrSubsampleRatio410:
		return 2, 1, true
	}
	return 0, 0, false
}

// boxShrinkYCbCr averages k x k blocks of the part crop of src, in YCbCr
// (the conversion to RGB is linear, so averaging before it is the same as
// after it, and 3/4 cheaper on 4:2:0). It returns nil for a subsampling it
// does not know.
func boxShrinkYCbCr(src *image.YCbCr, crop image.Rectangle, k int) *image.NRGBA {
	hs, vs, ok := chromaShifts(src.SubsampleRatio)
	if !ok {
		return nil
	}
	nx, ny := crop.Dx()/k, crop.Dy()/k
	// Trim the crop to whole blocks, keeping it centred.
	x0 := crop.Min.X + (crop.Dx()-nx*k)/2
	y0 := crop.Min.Y + (crop.Dy()-ny*k)/2
	dst := image.NewNRGBA(image.Rect(0, 0, nx, ny))
	area := uint32(k * k)

	rows := func(from, to int) {
		sy := make([]uint32, nx)
		scb := make([]uint32, nx)
		scr := make([]uint32, nx)
		for oy := from; oy < to; oy++ {
			clear(sy)
			clear(scb)
			clear(scr)
			for y := y0 + oy*k; y < y0+(oy+1)*k; y++ {
				yrow := src.Y[y*src.YStride:]
				crow := (y >> vs) * src.CStride
				for ox := range nx {
					var a, b, c uint32
					for x := x0 + ox*k; x < x0+(ox+1)*k; x++ {
						ci := crow + x>>hs
						a += uint32(yrow[x])
						b += uint32(src.Cb[ci])
						c += uint32(src.Cr[ci])
					}
					sy[ox] += a
					scb[ox] += b
					scr[ox] += c
				}
			}
			p := dst.Pix[oy*dst.Stride:]
			for ox := range nx {
				r, g, b := color.YCbCrToRGB(
					uint8((sy[ox]+area/2)/area),
					uint8((scb[ox]+area/2)/area),
					uint8((scr[ox]+area/2)/area))
				p[4*ox], p[4*ox+1], p[4*ox+2], p[4*ox+3] = r, g, b, 0xff
			}
		}
	}

	workers := min(runtime.GOMAXPROCS(0), ny)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() { rows(ny*w/workers, ny*(w+1)/workers) })
	}
	wg.Wait()
	return dst
}

func setOpaque(img *image.NRGBA) {
	for i := 3; i < len(img.Pix); i += 4 {
		img.Pix[i] = 0xff
	}
}

// clearTransparent zeroes the colour of fully transparent pixels: nobody
// sees it, and a constant compresses better than resampling leftovers.
func clearTransparent(img *image.NRGBA) {
	for i := 0; i+3 < len(img.Pix); i += 4 {
		if img.Pix[i+3] == 0 {
			img.Pix[i], img.Pix[i+1], img.Pix[i+2] = 0, 0, 0
		}
	}
}
