package avatar

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"mmsprofile/avatar/internal/samplepic"
)

// BenchmarkMake times the whole path on camera-like JPEGs (quality 90).
// With AVATAR_BENCH_DIR set, the inputs are also written there as
// 1280x960.jpg and 4000x3000.jpg, so scripts/bench-avatar-reference.sh can
// time ImageMagick on the very same bytes.
func BenchmarkMake(b *testing.B) {
	sizes := []struct {
		name string
		w, h int
	}{
		{"1280x960", 1280, 960},
		{"4000x3000", 4000, 3000},
	}
	dir := os.Getenv("AVATAR_BENCH_DIR")
	for _, sz := range sizes {
		// Generated once per size, not per b.N round.
		in := encodeJPEG(b, samplepic.Photo(sz.w, sz.h, 2024), 90)
		if dir != "" {
			if err := os.WriteFile(filepath.Join(dir, sz.name+".jpg"), in, 0o644); err != nil {
				b.Fatal(err)
			}
		}
		b.Run(sz.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(in)))
			var out int
			for b.Loop() {
				img, err := Standard{}.Make(context.Background(), in)
				if err != nil {
					b.Fatal(err)
				}
				out = len(img.Data)
			}
			b.ReportMetric(float64(out), "out-bytes")
		})
	}
}
