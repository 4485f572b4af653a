// Package lanczos resamples opaque pictures with the Lanczos-3 filter,
// the one avatar uses through imaging.Resize, in fixed point.
//
// imaging weighs every sample by its alpha in float64 and divides by the
// summed alpha per pixel, reads each row through a generic scanner, and
// hands rows to goroutines over a channel: right for any picture, but
// for an opaque one (every JPEG, most PNGs) the alpha work changes
// nothing, and resizing was a seventh of the CPU time of accepting a
// photo MMS. Here the weights are imaging's, rounded to 14-bit integers
// that sum to exactly one, the samples are RGB bytes, and the result
// stays within one level of imaging's.
package lanczos
