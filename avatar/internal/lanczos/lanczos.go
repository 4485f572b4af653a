package lanczos

import (
	"image"
	"math"
	"runtime"
	"sync"
)

// precision is the weights' fractional bits: 255 times a sum of at most
// a few dozen weights of 2^14 stays far inside an int32.
const (
	precision = 14
	one       = 1 << precision
	half      = 1 << (precision - 1)
)

// support is the Lanczos-3 kernel's radius, in source samples at scale 1.
const support = 3.0

// parallelTaps is the work (output samples times taps) above which a pass
// is split over the cores: under it, starting goroutines costs more than
// it saves.
const parallelTaps = 1 << 19

// Resize resamples src to w x h and returns the result, opaque, and true;
// or nil and false for a kind of picture it does not read (the caller
// then resamples another way). src's alpha, where it has one, is not
// read: the caller knows the picture is opaque.
func Resize(src image.Image, w, h int) (*image.NRGBA, bool) {
	rows, ok := rowReader(src)
	if !ok || w <= 0 || h <= 0 {
		return nil, false
	}
	b := src.Bounds()
	sw, sh := b.Dx(), b.Dy()
	if sw <= 0 || sh <= 0 {
		return nil, false
	}

	// Rows are planar, each channel's samples together, so that each
	// output sample is a dot product over contiguous bytes; between the
	// passes they are rounded to bytes, as in imaging, which also runs
	// the horizontal pass first (the order decides where an edge's
	// overshoot is clamped).
	mid := make([]byte, sh*w*3)
	if sw == w {
		split(sh, sh*w, func(y0, y1 int) {
			for y := y0; y < y1; y++ {
				rows(y, mid[y*w*3:(y+1)*w*3])
			}
		})
	} else {
		hw := weights(w, sw)
		split(sh, sh*w*hw.taps, func(y0, y1 int) {
			line := make([]byte, sw*3)
			for y := y0; y < y1; y++ {
				rows(y, line)
				horizontal(mid[y*w*3:(y+1)*w*3], line, hw)
			}
		})
	}

	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	if sh == h {
		for y := range h {
			toNRGBA(dst.Pix[y*dst.Stride:], mid[y*w*3:(y+1)*w*3])
		}
		return dst, true
	}
	vw := weights(h, sh)
	split(h, h*w*vw.taps, func(y0, y1 int) {
		acc := make([]int32, w*3)
		line := make([]byte, w*3)
		for y := y0; y < y1; y++ {
			vertical(line, acc, mid, w*3, vw, y)
			toNRGBA(dst.Pix[y*dst.Stride:], line)
		}
	})
	return dst, true
}

// split runs f over [0, n) in one piece, or in one piece per core when
// work is large enough to pay for it.
func split(n, work int, f func(from, to int)) {
	parts := 1
	if work >= parallelTaps {
		parts = min(runtime.GOMAXPROCS(0), n)
	}
	if parts <= 1 {
		f(0, n)
		return
	}
	var wg sync.WaitGroup
	for p := range parts {
		wg.Go(func() { f(n*p/parts, n*(p+1)/parts) })
	}
	wg.Wait()
}

// table holds, for each output sample, the first source sample it reads
// and its weights, taps of them, zero-padded at the picture's edges.
type table struct {
	first []int
	coef  []int32 // taps per output sample
	taps  int
}

// weights computes the Lanczos-3 weights of resampling n source samples
// to m, as imaging's precomputeWeights does (the same centres, radius and
// normalisation), then rounds them to fixed point so that each output's
// weights sum to exactly one: a flat area stays exactly flat.
func weights(m, n int) table {
	du := float64(n) / float64(m)
	scale := max(du, 1)
	ru := math.Ceil(scale * support)
	taps := 2*int(ru) + 1
	t := table{first: make([]int, m), coef: make([]int32, m*taps), taps: taps}
	fw := make([]float64, taps)
	for v := range m {
		fu := (float64(v)+0.5)*du - 0.5
		begin := max(int(math.Ceil(fu-ru)), 0)
		end := min(int(math.Floor(fu+ru)), n-1)
		// Near the far edge the window is cut; keep it inside the
		// picture so that the taps never read past it.
		first := min(begin, max(n-taps, 0))
		var sum float64
		clear(fw)
		for u := begin; u <= end; u++ {
			k := kernel((float64(u) - fu) / scale)
			fw[u-first] = k
			sum += k
		}
		c := t.coef[v*taps : (v+1)*taps]
		if sum != 0 {
			var total int32
			largest := 0
			for i, k := range fw {
				c[i] = int32(math.Round(k / sum * one))
				total += c[i]
				if abs(c[i]) > abs(c[largest]) {
					largest = i
				}
			}
			c[largest] += one - total
		}
		t.first[v] = first
	}
	return t
}

func kernel(x float64) float64 {
	x = math.Abs(x)
	if x >= support {
		return 0
	}
	return sinc(x) * sinc(x/support)
}

func sinc(x float64) float64 {
	if x == 0 {
		return 1
	}
	return math.Sin(math.Pi*x) / (math.Pi * x)
}

func abs(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}

// horizontal resamples one planar row, line (n samples of R, then of
// G, then of B), into out, planar too.
func horizontal(out, line []byte, t table) {
	taps := t.taps
	n := len(line) / 3
	w := len(out) / 3
	lr, lg, lb := line[:n], line[n:2*n], line[2*n:3*n]
	or, og, ob := out[:w], out[w:2*w], out[2*w:3*w]
	for x, first := range t.first {
		c := t.coef[x*taps : (x+1)*taps]
		// The window is cut at the picture's edges (see weights): its
		// taps past the end have zero weight and are not read.
		c = c[:min(taps, n-first)]
		r, g, b := dot3(c, lr[first:], lg[first:], lb[first:])
		or[x], og[x], ob[x] = round(r), round(g), round(b)
	}
}

// dot3 weighs the first len(c) samples of r, g and b by c. It is a
// function of its own so that its sums stay in registers: inside
// horizontal's loop they were kept on the stack, and every tap loaded
// and stored all three.
//
//go:noinline
func dot3(c []int32, r, g, b []byte) (sr, sg, sb int32) {
	r, g, b = r[:len(c)], g[:len(c)], b[:len(c)]
	for i, k := range c {
		sr += k * int32(r[i])
		sg += k * int32(g[i])
		sb += k * int32(b[i])
	}
	return sr, sg, sb
}

// vertical resamples output row y from the rows of mid, each stride
// bytes, into line, with acc as scratch.
func vertical(line []byte, acc []int32, mid []byte, stride int, t table, y int) {
	taps := t.taps
	n := len(mid) / stride
	first := t.first[y]
	c := t.coef[y*taps : (y+1)*taps]
	c = c[:min(taps, n-first)]
	clear(acc)
	row := func(i int) []byte {
		return mid[(first+i)*stride : (first+i+1)*stride][:len(acc)]
	}
	// Four rows per sweep: the sweep's cost is loading and storing acc,
	// not the multiplications.
	i := 0
	for ; i+4 <= len(c); i += 4 {
		k0, k1, k2, k3 := c[i], c[i+1], c[i+2], c[i+3]
		r0, r1, r2, r3 := row(i), row(i+1), row(i+2), row(i+3)
		for j := range acc {
			acc[j] += k0*int32(r0[j]) + k1*int32(r1[j]) + k2*int32(r2[j]) + k3*int32(r3[j])
		}
	}
	for ; i < len(c); i++ {
		k, r := c[i], row(i)
		for j := range acc {
			acc[j] += k * int32(r[j])
		}
	}
	for j, a := range acc {
		line[j] = round(a)
	}
}

// round turns a weighted sum back into a byte, clamped: the kernel's
// negative lobes overshoot at edges.
func round(v int32) byte {
	v = (v + half) >> precision
	switch {
	case v < 0:
		return 0
	case v > 255:
		return 255
	}
	return byte(v)
}

// toNRGBA interleaves a planar row of RGB into opaque NRGBA pixels.
func toNRGBA(dst, rgb []byte) {
	n := len(rgb) / 3
	r, g, b := rgb[:n], rgb[n:2*n], rgb[2*n:3*n]
	dst = dst[:n*4]
	for i := range n {
		d := dst[i*4 : i*4+4 : i*4+4]
		d[0], d[1], d[2], d[3] = r[i], g[i], b[i], 0xff
	}
}
