package avatar

import (
	"errors"
	"fmt"
	"image"
	"io"

	"mmsprofile/avatar/internal/pngscale"
)

// pngScaleFor is the block side decodeScaledPNG averages for an avatar
// of side size: as large as leaves at least twice the side that the crop
// (the picture's shorter side) or the fit (its longer one) keeps, the
// margin resample leaves Lanczos after its own box filter.
func pngScaleFor(cfg image.Config, size int, crop bool) int {
	side := min(cfg.Width, cfg.Height)
	if !crop {
		side = max(cfg.Width, cfg.Height)
	}
	return pngscale.Scale(side, 2*size)
}

// decodeScaledPNG decodes a PNG through pngscale, reduced by k, without
// holding the full-size picture (a 16-bit 12 MP PNG is 96 MB whole). A
// panic is turned into an error, as for jpegscale, and the result is
// checked against the size the header announced, the size that was
// checked against the limits.
func decodeScaledPNG(data []byte, cfg image.Config, k int) (pic pngscale.Picture, err error) {
	defer func() {
		if r := recover(); r != nil {
			pic, err = pngscale.Picture{}, fmt.Errorf("avatar: pngscale: %v: %w", r, ErrCorrupt)
		}
	}()
	pic, err = pngscale.Decode(data, k, int64(cfg.Width)*int64(cfg.Height))
	what := fmt.Sprintf("PNG %dx%d", cfg.Width, cfg.Height)
	switch {
	case errors.Is(err, pngscale.ErrUnsupported):
		return pic, fmt.Errorf("avatar: %s: %v: %w", what, err, ErrUnsupported)
	case errors.Is(err, io.ErrUnexpectedEOF):
		return pic, fmt.Errorf("avatar: %s: cut short: %w", what, ErrCorrupt)
	case err != nil:
		return pic, fmt.Errorf("avatar: %s: %v: %w", what, err, ErrCorrupt)
	}
	if want := image.Rect(0, 0, (cfg.Width+k-1)/k, (cfg.Height+k-1)/k); pic.Image.Rect != want {
		return pngscale.Picture{}, fmt.Errorf("avatar: PNG header says %dx%d, picture at 1/%d is %v: %w", cfg.Width, cfg.Height, k, pic.Image.Rect, ErrCorrupt)
	}
	return pic, nil
}

// decodeStreamedPNG is decodeScaledPNG for decodeFor. What pngscale refuses as
// unsupported (an unknown critical chunk, which image/png skips) goes to
// image/png whole, as before pngscale: a picture that decoded then is
// not refused now.
func decodeStreamedPNG(data []byte, cfg image.Config, size int, crop bool) (image.Image, error) {
	pic, err := decodeScaledPNG(data, cfg, pngScaleFor(cfg, size, crop))
	if errors.Is(err, ErrUnsupported) {
		return decode(formatPNG, data, cfg)
	}
	if err != nil {
		return nil, err
	}
	return pic.Image, nil
}
