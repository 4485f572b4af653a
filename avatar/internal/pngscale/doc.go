// Package pngscale decodes a PNG at 1/k of its size without ever holding
// the full-size picture: the image data is inflated as a stream, each row
// is unfiltered with only the previous row kept, and its pixels are
// box-averaged into k x k blocks (alpha-weighted, so that the colour of
// transparent pixels does not bleed into their neighbours; 16-bit samples
// keep their precision until the average). A 12-megapixel PNG meant for a
// 128-pixel avatar thus needs a few rows and a picture of about 0.1
// megapixel, not the 48 to 96 MB that image/png allocates for it.
//
// It reads every PNG that image/png reads (colour types 0, 2, 3, 4 and 6,
// all their bit depths, tRNS, Adam7 interlacing), and at 1/1 gives the
// same pixels. Like image/png it checks every chunk's CRC, wants the image
// data to hold exactly the rows and an IEND chunk to close the file, and
// paints palette indexes past the palette opaque black; unlike it, it
// refuses unknown critical chunks (PNG 1.2, section 14.2), which image/png
// skips. It hands on the iCCP profile, inflated, for the caller to apply.
//
// The caller must have checked the header's dimensions against its limits
// (with image/png.DecodeConfig, say); Decode also refuses a picture over
// the pixel count it is given.
package pngscale // import "mmsprofile/avatar/internal/pngscale"
