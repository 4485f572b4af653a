// Command avatarbench times package avatar against references on the same
// files, for scripts/bench-avatar.sh; it is not part of the component.
//
//	avatarbench gen DIR                        write the benchmark pictures
//	avatarbench time -impl I -n N FILE...      ms per picture, in-process
//	avatarbench mem -impl I FILE               peak memory of one picture
//	avatarbench rate -impl I -procs P FILE     pictures per second on P cores
//	avatarbench grid -cols C -rows R -w W -h H OUT TILE...
//	                                           a grid HEIC of the tiles, as phones write
//
// I is go or vips (package avatar's backends), imaging (plain decode,
// imaging.Fill and PNG encode: what the pure-Go backend must beat), or
// vipsref (libvips' own thumbnail_buffer and pngsave_buffer, in a build
// with -tags vips).
package main

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/binary"
	"flag"
	"fmt"
	"image"
	"image/color"
	"image/color/palette"
	"image/draw"
	"image/jpeg"
	"image/png"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/disintegration/imaging"

	"mmsprofile/avatar"
	"mmsprofile/avatar/internal/heifgrid"
	"mmsprofile/avatar/internal/inflate"
	"mmsprofile/avatar/internal/samplepic"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: avatarbench gen|time|mem|rate|grid ...")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "gen":
		err = gen(os.Args[2])
	case "time", "mem", "rate":
		err = measure(os.Args[1], os.Args[2:])
	case "grid":
		err = grid(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "avatarbench:", err)
		os.Exit(1)
	}
}

// make128 is one contender: bytes in, 128 px PNG out.
type make128 func(data []byte) ([]byte, error)

func contender(impl string) (make128, error) {
	switch impl {
	case "go", "vips":
		// The 12 MP PNGs are over the default input budget (10 MB).
		std := avatar.Standard{Backend: impl, MinDetail: -1, MaxInputBytes: 64 << 20}
		if err := std.Check(); err != nil {
			return nil, err
		}
		return func(data []byte) ([]byte, error) {
			img, err := std.Make(context.Background(), data)
			return img.Data, err
		}, nil
	case "imaging":
		return func(data []byte) ([]byte, error) {
			img, _, err := image.Decode(bytes.NewReader(data))
			if err != nil {
				return nil, err
			}
			var buf bytes.Buffer
			err = png.Encode(&buf, imaging.Fill(img, 128, 128, imaging.Center, imaging.Lanczos))
			return buf.Bytes(), err
		}, nil
	case "inflate", "zlib":
		// Not contenders: the floors under a pure-Go PNG decoder, the
		// image data's inflate alone, by the one pngscale uses and by
		// compress/zlib.
		return func(data []byte) ([]byte, error) {
			idat, err := pngImageData(data)
			if err != nil {
				return nil, err
			}
			var r io.Reader
			if impl == "inflate" {
				r, err = inflate.NewReader([][]byte{idat})
			} else {
				r, err = zlib.NewReader(bytes.NewReader(idat))
			}
			if err != nil {
				return nil, err
			}
			_, err = io.Copy(io.Discard, r)
			return nil, err
		}, nil
	case "vipsref":
		if vipsRef == nil {
			return nil, fmt.Errorf("vipsref needs a build with -tags vips")
		}
		return vipsRef, nil
	}
	return nil, fmt.Errorf("unknown implementation %q", impl)
}

// pngImageData returns the zlib stream of a PNG: its IDAT chunks joined.
func pngImageData(data []byte) ([]byte, error) {
	if len(data) < 8 || string(data[1:4]) != "PNG" {
		return nil, fmt.Errorf("not a PNG")
	}
	var idat []byte
	for i := 8; i+12 <= len(data); {
		n := int(binary.BigEndian.Uint32(data[i:]))
		if n < 0 || i+12+n > len(data) {
			return nil, fmt.Errorf("PNG chunk runs past the end")
		}
		if string(data[i+4:i+8]) == "IDAT" {
			idat = append(idat, data[i+8:i+8+n]...)
		}
		i += 12 + n
	}
	return idat, nil
}

func measure(cmd string, args []string) error {
	fs := flag.NewFlagSet(cmd, flag.ExitOnError)
	impl := fs.String("impl", "go", "go, vips, imaging, vipsref or inflate (PNG only: Go's inflate alone)")
	n := fs.Int("n", 10, "runs per file (time)")
	procs := fs.Int("procs", 2, "cores (rate)")
	dur := fs.Duration("d", 3*time.Second, "how long (rate)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	mk, err := contender(*impl)
	if err != nil {
		return err
	}
	for _, name := range fs.Args() {
		data, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		switch cmd {
		case "time":
			err = timeOne(mk, name, data, *n)
		case "mem":
			err = memOne(mk, name, data)
		case "rate":
			err = rateOne(mk, name, data, *procs, *dur)
		}
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

// timeOne prints the median ms of n runs after one warm-up run (which
// starts libvips and faults in the code).
func timeOne(mk make128, name string, data []byte, n int) error {
	if _, err := mk(data); err != nil {
		return err
	}
	ms := make([]float64, n)
	for i := range n {
		start := time.Now()
		if _, err := mk(data); err != nil {
			return err
		}
		ms[i] = float64(time.Since(start).Microseconds()) / 1000
	}
	sort.Float64s(ms)
	fmt.Printf("%s %.2f\n", filepath.Base(name), ms[n/2])
	return nil
}

// memOne prints the peak resident memory (VmHWM) of this process before
// and after making one avatar of data, in MB. "Before" is after a warm-up
// on a small picture, so libraries and runtime are already counted there.
func memOne(mk make128, name string, data []byte) error {
	small := new(bytes.Buffer)
	if err := jpeg.Encode(small, samplepic.Photo(64, 64, 1), nil); err != nil {
		return err
	}
	if _, err := mk(small.Bytes()); err != nil {
		return err
	}
	before, err := hwm()
	if err != nil {
		return err
	}
	if _, err := mk(data); err != nil {
		return err
	}
	after, err := hwm()
	if err != nil {
		return err
	}
	fmt.Printf("%s %.1f %.1f\n", filepath.Base(name), before, after)
	return nil
}

func hwm() (float64, error) {
	b, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(rest), "kB")))
			return float64(kb) / 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// rateOne runs procs workers on procs cores for dur and prints pictures
// per second.
func rateOne(mk make128, name string, data []byte, procs int, dur time.Duration) error {
	runtime.GOMAXPROCS(procs)
	if _, err := mk(data); err != nil {
		return err
	}
	var done atomic.Int64
	var firstErr atomic.Value
	deadline := time.Now().Add(dur)
	start := time.Now()
	var wg sync.WaitGroup
	for range procs {
		wg.Go(func() {
			for time.Now().Before(deadline) {
				if _, err := mk(data); err != nil {
					firstErr.CompareAndSwap(nil, err)
					return
				}
				done.Add(1)
			}
		})
	}
	wg.Wait()
	if err, ok := firstErr.Load().(error); ok {
		return err
	}
	fmt.Printf("%s %.1f\n", filepath.Base(name), float64(done.Load())/time.Since(start).Seconds())
	return nil
}

// gen writes the pictures the issue names: camera-like JPEGs at 1.2 and
// 12 MP (baseline; the script makes the progressive ones with ImageMagick),
// one carrying EXIF orientation 6 as a phone held upright writes it, and
// PNGs: one with alpha, and 12 MP ones in 8-bit RGB, 16-bit RGBA and a
// palette.
func gen(dir string) error {
	write := func(name string, b []byte) error { return os.WriteFile(filepath.Join(dir, name), b, 0o644) }
	for _, sz := range []struct {
		name string
		w, h int
	}{{"1280x960", 1280, 960}, {"4000x3000", 4000, 3000}} {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, samplepic.Photo(sz.w, sz.h, 2024), &jpeg.Options{Quality: 90}); err != nil {
			return err
		}
		if err := write(sz.name+".jpg", buf.Bytes()); err != nil {
			return err
		}
		if sz.w == 4000 {
			b := buf.Bytes()
			exif := append(append([]byte{b[0], b[1]}, exif6()...), b[2:]...)
			if err := write(sz.name+"-exif6.jpg", exif); err != nil {
				return err
			}
		}
	}
	img := samplepic.Photo(1600, 1200, 7)
	nrgba := image.NewNRGBA(img.Rect)
	for y := range 1200 {
		for x := range 1600 {
			c := img.RGBAAt(x, y)
			// A soft vignette of transparency, as a cut-out sticker has.
			dx, dy := float64(x-800)/800, float64(y-600)/600
			a := uint8(255 * math.Max(0, math.Min(1, 1.6-1.2*math.Hypot(dx, dy))))
			nrgba.Pix[nrgba.PixOffset(x, y)+0] = c.R
			nrgba.Pix[nrgba.PixOffset(x, y)+1] = c.G
			nrgba.Pix[nrgba.PixOffset(x, y)+2] = c.B
			nrgba.Pix[nrgba.PixOffset(x, y)+3] = a
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, nrgba); err != nil {
		return err
	}
	if err := write("1600x1200-alpha.png", buf.Bytes()); err != nil {
		return err
	}
	// 12 MP PNGs (issue 19): the photo as 8-bit RGB, as 16-bit RGBA with
	// the sticker's vignette, and in a 256-colour palette.
	photo := samplepic.Photo(4000, 3000, 2024)
	rgba64 := image.NewNRGBA64(photo.Rect)
	pal := image.NewPaletted(photo.Rect, palette.Plan9)
	draw.Draw(pal, pal.Rect, photo, image.Point{}, draw.Src)
	for y := range 3000 {
		for x := range 4000 {
			c := photo.RGBAAt(x, y)
			dx, dy := float64(x-2000)/2000, float64(y-1500)/1500
			a := uint16(65535 * math.Max(0, math.Min(1, 1.6-1.2*math.Hypot(dx, dy))))
			rgba64.SetNRGBA64(x, y, color.NRGBA64{uint16(c.R)*257 + uint16(x%257), uint16(c.G) * 257, uint16(c.B) * 257, a})
		}
	}
	for _, p := range []struct {
		name string
		img  image.Image
	}{{"4000x3000-rgb.png", photo}, {"4000x3000-rgba16.png", rgba64}, {"4000x3000-palette.png", pal}} {
		buf.Reset()
		if err := png.Encode(&buf, p.img); err != nil {
			return err
		}
		if err := write(p.name, buf.Bytes()); err != nil {
			return err
		}
	}
	return nil
}

// exif6 is an APP1 segment with only Orientation = 6, big-endian.
func exif6() []byte {
	t := []byte("Exif\x00\x00MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00\x00\x00\x00\x00")
	seg := []byte{0xff, 0xe1, 0, 0}
	binary.BigEndian.PutUint16(seg[2:], uint16(len(t)+2))
	return append(seg, t...)
}

// grid writes a grid HEIC of the tiles (HEIF files of one picture each,
// row by row), for the benchmarks' 12 MP phone photo: no encoder here
// writes a grid.
func grid(args []string) error {
	fs := flag.NewFlagSet("grid", flag.ExitOnError)
	var l heifgrid.Layout
	fs.IntVar(&l.Cols, "cols", 8, "tiles across")
	fs.IntVar(&l.Rows, "rows", 6, "tiles down")
	fs.IntVar(&l.Width, "w", 4032, "picture width, the right column cropped to it")
	fs.IntVar(&l.Height, "h", 3024, "picture height, the bottom row cropped to it")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() < 2 {
		return fmt.Errorf("grid: want OUT and the tiles")
	}
	var tiles [][]byte
	for _, name := range fs.Args()[1:] {
		b, err := os.ReadFile(name)
		if err != nil {
			return err
		}
		tiles = append(tiles, b)
	}
	out, err := heifgrid.Build(tiles, l)
	if err != nil {
		return err
	}
	return os.WriteFile(fs.Arg(0), out, 0o644)
}
