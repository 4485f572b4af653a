package samplepic

import (
	"image"
	"math"
	"math/rand/v2"
)

// Photo draws a w x h picture from seed: smooth gradients, six soft-edged
// discs of random colours and sensor-like noise.
func Photo(w, h int, seed uint64) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	type disc struct {
		x, y, r float64
		c       [3]float64
	}
	discs := make([]disc, 6)
	for i := range discs {
		discs[i] = disc{
			x: rng.Float64() * float64(w), y: rng.Float64() * float64(h),
			r: (0.05 + 0.2*rng.Float64()) * float64(min(w, h)),
			c: [3]float64{rng.Float64() * 255, rng.Float64() * 255, rng.Float64() * 255},
		}
	}
	for y := range h {
		fy := float64(y) / float64(h)
		for x := range w {
			fx := float64(x) / float64(w)
			c := [3]float64{40 + 180*fx, 60 + 120*fy, 200 - 150*fx*fy}
			for _, d := range discs {
				dx, dy := float64(x)-d.x, float64(y)-d.y
				if t := 1 - math.Sqrt(dx*dx+dy*dy)/d.r; t > 0 {
					t = min(1, 3*t)
					for k := range 3 {
						c[k] = c[k]*(1-t) + d.c[k]*t
					}
				}
			}
			n := rng.NormFloat64() * 6
			i := img.PixOffset(x, y)
			for k := range 3 {
				img.Pix[i+k] = uint8(max(0, min(255, c[k]+n)))
			}
			img.Pix[i+3] = 0xff
		}
	}
	return img
}
