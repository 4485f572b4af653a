package avatar

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/gif"
	"image/jpeg"
	"image/png"
	"io"

	"golang.org/x/image/bmp"
	"golang.org/x/image/webp"

	"mmsprofile/avatar/internal/jpegscale"
)

// format is what the bytes are, whatever the MMS part claimed.
type format int

const (
	formatJPEG format = iota + 1
	formatPNG
	formatGIF
	formatWebP
	formatBMP
	formatHEIC
	formatAVIF
)

var allFormats = []format{formatJPEG, formatPNG, formatGIF, formatWebP, formatBMP, formatHEIC, formatAVIF}

func (f format) String() string {
	switch f {
	case formatJPEG:
		return "JPEG"
	case formatPNG:
		return "PNG"
	case formatGIF:
		return "GIF"
	case formatWebP:
		return "WebP"
	case formatBMP:
		return "BMP"
	case formatHEIC:
		return "HEIC"
	case formatAVIF:
		return "AVIF"
	}
	return "unknown format"
}

func (f format) mediaType() string {
	switch f {
	case formatJPEG:
		return "image/jpeg"
	case formatPNG:
		return "image/png"
	case formatGIF:
		return "image/gif"
	case formatWebP:
		return "image/webp"
	case formatBMP:
		return "image/bmp"
	case formatHEIC:
		return "image/heic"
	case formatAVIF:
		return "image/avif"
	}
	return "application/octet-stream"
}

// sniff names the format from magic numbers. Decoders are chosen here, not
// through image.Decode or libvips' own loader search, so that only the
// formats below are ever parsed, whatever else the process could read.
func sniff(b []byte) (format, error) {
	switch {
	case bytes.HasPrefix(b, []byte("\xff\xd8\xff")):
		return formatJPEG, nil
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		return formatPNG, nil
	case bytes.HasPrefix(b, []byte("GIF87a")), bytes.HasPrefix(b, []byte("GIF89a")):
		return formatGIF, nil
	case len(b) >= 12 && string(b[:4]) == "RIFF" && string(b[8:12]) == "WEBP":
		// x/image/webp has no animation support; say so rather than "damaged".
		if len(b) >= 21 && string(b[12:16]) == "VP8X" && b[20]&0x02 != 0 {
			return 0, fmt.Errorf("avatar: animated WebP: %w", ErrUnsupported)
		}
		return formatWebP, nil
	case bytes.HasPrefix(b, []byte("BM")):
		return formatBMP, nil
	}
	if f := heifBrand(b); f != 0 {
		return f, nil
	}
	// Name the formats phones really send that we do not decode, so the
	// sender learns what to change.
	if name := knownUnsupported(b); name != "" {
		return 0, fmt.Errorf("avatar: %s picture: %w", name, ErrUnsupported)
	}
	return 0, fmt.Errorf("avatar: not a JPEG, PNG, GIF, WebP or BMP picture: %w", ErrUnsupported)
}

// FormatName names the picture format of data from its magic numbers
// ("JPEG", "HEIC", "TIFF", …), whether or not this build decodes it, or
// returns "" for bytes that are no known picture. It reads no further than
// the header, so a caller may name a format in a reply to the sender.
func FormatName(data []byte) string {
	f, err := sniff(data)
	if err == nil {
		return f.String()
	}
	return knownUnsupported(data)
}

func knownUnsupported(b []byte) string {
	switch {
	case bytes.HasPrefix(b, []byte("II*\x00")), bytes.HasPrefix(b, []byte("MM\x00*")):
		return "TIFF"
	case bytes.HasPrefix(b, []byte("\xff\x0a")), bytes.HasPrefix(b, []byte("\x00\x00\x00\x0cJXL \r\n\x87\n")):
		return "JPEG XL"
	case bytes.HasPrefix(b, []byte("\x00\x00\x00\x0cjP  \r\n\x87\n")):
		return "JPEG 2000"
	}
	return ""
}

// heifBrand tells HEIC from AVIF by the ftyp box's brands (both are HEIF
// containers; libheif reads either), or returns 0.
func heifBrand(b []byte) format {
	if len(b) < 16 || string(b[4:8]) != "ftyp" {
		return 0
	}
	n := int(binary.BigEndian.Uint32(b))
	if n < 16 || n > len(b) || n > 4096 {
		return 0
	}
	// Major brand, minor version, then compatible brands.
	brands := [][]byte{b[8:12]}
	for i := 16; i+4 <= n; i += 4 {
		brands = append(brands, b[i:i+4])
	}
	var heic bool
	for _, br := range brands {
		switch string(br) {
		case "avif", "avis":
			return formatAVIF
		case "heic", "heix", "hevc", "hevx", "heim", "heis":
			heic = true
		}
	}
	if heic || string(b[8:12]) == "mif1" || string(b[8:12]) == "msf1" {
		return formatHEIC
	}
	return 0
}

// decodeConfig reads only the header. A panic inside a decoder is turned
// into ErrCorrupt: the input comes from strangers and must not stop the
// process.
func decodeConfig(f format, data []byte) (cfg image.Config, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("avatar: %s header: %v: %w", f, r, ErrCorrupt)
		}
	}()
	r := bytes.NewReader(data)
	switch f {
	case formatJPEG:
		cfg, err = jpeg.DecodeConfig(r)
	case formatPNG:
		cfg, err = png.DecodeConfig(r)
	case formatGIF:
		cfg, err = gif.DecodeConfig(r)
	case formatWebP:
		cfg, err = webp.DecodeConfig(r)
	case formatBMP:
		cfg, err = bmp.DecodeConfig(r)
	}
	if err != nil {
		return image.Config{}, decodeError(f, "header", err)
	}
	return cfg, nil
}

// decodeFor decodes the picture for an avatar of side size: a JPEG at the
// smallest DCT scale (1/2, 1/4, 1/8) that leaves at least 1.5 times the
// side, so that a camera photo is never built at full size, a PNG
// averaged down while it streams (see decodeStreamedPNG), and anything else, or a
// JPEG that jpegscale does not read, whole. A crop keeps the
// shorter side of the picture, a fit its longer one.
//
// A DCT scale is a box filter; a box down to nearly the final side leaves
// colour edges jagged for Lanczos to keep (measured on a photo: up to 35-50
// levels off a full-size Lanczos resize). With a margin of 1.5 the worst
// is 9-21 levels and the mean under one, no worse than libvips' own
// shrink-on-load on the same photo (17-52), and a 1280x960 photo for
// 128 px decodes at 1/4 rather than 1/2 (progressive: 29 ms, not 37).
func decodeFor(f format, data []byte, cfg image.Config, size int, crop bool) (image.Image, error) {
	if f == formatPNG {
		return decodeStreamedPNG(data, cfg, size, crop)
	}
	if f != formatJPEG {
		return decode(f, data, cfg)
	}
	k := jpegScaleFor(cfg, size, crop)
	if k == 1 {
		return decode(f, data, cfg)
	}
	img, err := decodeScaledJPEG(data, cfg, k)
	if err != nil {
		// What jpegscale refuses (arithmetic coding, 12 bits, odd
		// layouts) or finds broken goes to image/jpeg, which is slower but
		// the reference: a photo that decodes anywhere here is not refused
		// for the sake of speed, and one that does not gets its error.
		return decode(f, data, cfg)
	}
	return img, nil
}

// jpegScaleFor is the DCT scale decodeFor uses: 1, 2, 4 or 8.
func jpegScaleFor(cfg image.Config, size int, crop bool) int {
	side := min(cfg.Width, cfg.Height)
	if !crop {
		side = max(cfg.Width, cfg.Height)
	}
	return jpegscale.Scale(side, (3*size+1)/2)
}

// decodeScaledJPEG is jpegscale.Decode with a panic turned into an error:
// the fuzz tests say it does not panic, and if it ever did on a stranger's
// photo, image/jpeg gets the photo instead of the process going down.
// It also checks the result against the size the header announced, the
// size that was checked against the limits.
func decodeScaledJPEG(data []byte, cfg image.Config, k int) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("avatar: jpegscale: %v", r)
		}
	}()
	img, err = jpegscale.Decode(data, k)
	if err != nil {
		return nil, err
	}
	if want := image.Rect(0, 0, (cfg.Width+k-1)/k, (cfg.Height+k-1)/k); img.Bounds() != want {
		return nil, fmt.Errorf("avatar: JPEG header says %dx%d, picture at 1/%d is %v: %w", cfg.Width, cfg.Height, k, img.Bounds(), ErrCorrupt)
	}
	return img, nil
}

// decode decodes the whole picture, which must match what cfg announced:
// only cfg's size was checked against the limits.
func decode(f format, data []byte, cfg image.Config) (img image.Image, err error) {
	defer func() {
		if r := recover(); r != nil {
			img, err = nil, fmt.Errorf("avatar: %s %dx%d: %v: %w", f, cfg.Width, cfg.Height, r, ErrCorrupt)
		}
	}()
	r := bytes.NewReader(data)
	switch f {
	case formatJPEG:
		img, err = jpeg.Decode(r)
		if err != nil && truncatedJPEG(data) {
			img, err = decodeTruncatedJPEG(data, cfg)
		}
	case formatPNG:
		img, err = png.Decode(r)
	case formatGIF:
		img, err = gif.Decode(r) // the first frame only
	case formatWebP:
		img, err = webp.Decode(r)
	case formatBMP:
		img, err = bmp.Decode(r)
	}
	if err != nil {
		return nil, decodeError(f, fmt.Sprintf("%dx%d", cfg.Width, cfg.Height), err)
	}
	b := img.Bounds()
	if f == formatGIF && b != image.Rect(0, 0, cfg.Width, cfg.Height) {
		// A first frame may cover part of the logical screen; what the
		// sender saw is that frame on a transparent screen.
		canvas := image.NewNRGBA(image.Rect(0, 0, cfg.Width, cfg.Height))
		draw.Draw(canvas, b, img, b.Min, draw.Src)
		return canvas, nil
	}
	if b.Dx() != cfg.Width || b.Dy() != cfg.Height {
		return nil, fmt.Errorf("avatar: %s header says %dx%d, picture is %dx%d: %w", f, cfg.Width, cfg.Height, b.Dx(), b.Dy(), ErrCorrupt)
	}
	return img, nil
}

// decodeError sorts a decoder's error into our sentinels.
func decodeError(f format, what string, err error) error {
	var (
		jpegUnsupported jpeg.UnsupportedError
		pngUnsupported  png.UnsupportedError
	)
	switch {
	case errors.As(err, &jpegUnsupported), errors.As(err, &pngUnsupported), errors.Is(err, bmp.ErrUnsupported):
		return fmt.Errorf("avatar: %s %s: %v: %w", f, what, err, ErrUnsupported)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("avatar: %s %s: cut short: %w", f, what, ErrCorrupt)
	}
	return fmt.Errorf("avatar: %s %s: %v: %w", f, what, err, ErrCorrupt)
}

// truncatedJPEG reports whether a JPEG stops before its end-of-image
// marker, as a photo cut short by a flaky upload or an MMSC's size limit
// does.
func truncatedJPEG(data []byte) bool {
	end := bytes.TrimRight(data, "\x00")
	return len(end) >= 2 && !(end[len(end)-2] == 0xff && end[len(end)-1] == 0xd9)
}

// decodeTruncatedJPEG decodes what a cut-short JPEG holds, the way libjpeg
// does: Go's decoder stops at the missing data, so the entropy-coded data
// is padded with zero bits (which decode as flat blocks) up to a bound no
// picture of these dimensions can need, and closed with an end-of-image
// marker. The part that arrived keeps its pixels.
func decodeTruncatedJPEG(data []byte, cfg image.Config) (image.Image, error) {
	pad := cfg.Width*cfg.Height/4 + 1024
	fixed := make([]byte, 0, len(data)+pad+2)
	fixed = append(fixed, data...)
	fixed = append(fixed, make([]byte, pad)...)
	fixed = append(fixed, 0xff, 0xd9)
	return jpeg.Decode(bytes.NewReader(fixed))
}
