// Package jpegscale decodes a JPEG at 1/2, 1/4 or 1/8 of its size without
// ever building the full-size picture: each 8x8 block of DCT coefficients
// is turned straight into 4x4, 2x2 or 1x1 samples, each the exact average
// of the full-size samples it covers (ITU T.81 with a reduced inverse
// transform). A 12-megapixel photo meant for a 128-pixel avatar thus costs
// little more than its Huffman decoding, and at 1/8 a progressive photo
// costs only its DC scans.
//
// It reads baseline, extended sequential (8-bit, Huffman) and progressive
// JPEGs, in YCbCr, grey, RGB, CMYK and YCCK, with any sampling factors
// from 1 to 4, restart markers, and pictures cut short (the missing part
// decodes flat, as libjpeg does). Everything else yields ErrUnsupported,
// for the caller to hand the bytes to image/jpeg.
//
// At 1/2 and 1/4, a progressive picture's scans and its final transform
// run on up to runtime.GOMAXPROCS(0) goroutines.
//
// The caller must have checked the frame's dimensions against its limits
// (with image/jpeg.DecodeConfig, say): memory grows with them.
package jpegscale // import "mmsprofile/avatar/internal/jpegscale"
