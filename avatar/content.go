package avatar

import (
	"image"
	"math"
)

// detail measures how far the picture is from a single colour: the largest
// standard deviation, in 0-255 levels, of its red, green, blue and alpha
// channels. Colour is weighted by alpha, so that whatever a transparent
// pixel happens to hold does not count as detail. It is measured on the
// avatar-sized picture, where sensor noise has been averaged away and only
// what a viewer would see remains.
func detail(img *image.NRGBA) float64 {
	var sum, sq [4]float64
	b := img.Bounds()
	n := float64(b.Dx() * b.Dy())
	if n == 0 {
		return 0
	}
	for y := range b.Dy() {
		row := img.Pix[y*img.Stride : y*img.Stride+4*b.Dx()]
		for i := 0; i < len(row); i += 4 {
			a := float64(row[i+3])
			v := [4]float64{float64(row[i]) * a / 255, float64(row[i+1]) * a / 255, float64(row[i+2]) * a / 255, a}
			for c := range 4 {
				sum[c] += v[c]
				sq[c] += v[c] * v[c]
			}
		}
	}
	var most float64
	for c := range 4 {
		mean := sum[c] / n
		most = max(most, math.Sqrt(max(0, sq[c]/n-mean*mean)))
	}
	return most
}
