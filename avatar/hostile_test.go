package avatar

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"mmsprofile/internal/testkit/hostiletest"
)

// gifOf is a GIF of a w x h screen and n frames of 1x1 pixel each, black
// and white alternately.
func gifOf(w, h, n int) []byte {
	b := []byte("GIF89a")
	b = binary.LittleEndian.AppendUint16(b, uint16(w))
	b = binary.LittleEndian.AppendUint16(b, uint16(h))
	b = append(b, 0, 0, 0)
	for i := range n {
		b = append(b, 0x2c, 0, 0, 0, 0, 1, 0, 1, 0, 0x80)
		if i%2 == 0 {
			b = append(b, 0, 0, 0, 0xff, 0xff, 0xff)
		} else {
			b = append(b, 0xff, 0xff, 0xff, 0, 0, 0)
		}
		b = append(b, 2, 2, 0x44, 1, 0)
	}
	return append(b, 0x3b)
}

// webpCanvas is a WebP whose VP8X header claims a w x h canvas, around the
// small lossy picture of testdata/photo.webp.
func webpCanvas(t testing.TB, w, h int) []byte {
	photo := readTestdata(t, "photo.webp")
	vp8 := photo[12:] // the VP8 chunk
	x := []byte("VP8X")
	x = binary.LittleEndian.AppendUint32(x, 10)
	x = append(x, 0, 0, 0, 0)
	x = append(x, byte(w-1), byte((w-1)>>8), byte((w-1)>>16), byte(h-1), byte((h-1)>>8), byte((h-1)>>16))
	body := append(append([]byte("WEBP"), x...), vp8...)
	return append(binary.LittleEndian.AppendUint32([]byte("RIFF"), uint32(len(body))), body...)
}

// hostile are the image classes of a hostile peer, each refused from its
// header: the allocation a refusal costs is measured, not its time.
func hostile(t testing.TB) []struct {
	name, want string
	in         []byte
} {
	return []struct {
		name, want string
		in         []byte
	}{
		{"PNG bomb 60000x60000", "60000x60000", readTestdata(t, "bomb-png-60000x60000.png")},
		{"JPEG bomb 60000x60000", "60000x60000", readTestdata(t, "bomb-jpeg-60000x60000.jpg")},
		{"GIF bomb 60000x60000", "60000x60000", gifOf(60000, 60000, 1)},
		{"GIF of 10000 frames", "10000 frames", gifOf(64, 64, 10000)},
		{"WebP bomb 16384x16384", "16384x16384", webpCanvas(t, 16384, 16384)},
		{"HEIC grid of 1000 tiles", "1000 tiles", heifGrid(1000, 1, 1024, 1024)},
		{"HEIC bomb 60000x60000", "60000x60000", heifGrid(4, 5, 60000, 60000)},
		{"JPEG of 200 scans", "scans", manyScans(t, 200)},
	}
}

// TestHostileImages checks that each class is refused as too large,
// naming the limit, and that the refusal allocates under 1 MiB beyond the
// input: nothing was decoded.
func TestHostileImages(t *testing.T) {
	for _, tc := range hostile(t) {
		for _, std := range backends() {
			t.Run(tc.name+" "+backendLabel(std), func(t *testing.T) {
				var before, after runtime.MemStats
				runtime.ReadMemStats(&before)
				start := time.Now()
				_, err := std.Make(context.Background(), tc.in)
				elapsed := time.Since(start)
				runtime.ReadMemStats(&after)
				if !errors.Is(err, ErrTooLarge) || !strings.Contains(err.Error(), tc.want) {
					t.Fatalf("err = %v, want ErrTooLarge naming %q", err, tc.want)
				}
				if n := after.TotalAlloc - before.TotalAlloc; n > 1<<20+uint64(len(tc.in)) {
					t.Errorf("refusing allocated %d bytes", n)
				}
				hostiletest.Report(t, "image-"+strings.ReplaceAll(tc.name, " ", "-")+"-"+backendLabel(std), elapsed, "ErrTooLarge")
			})
		}
	}
}

// backends are the default build's backend and the pure-Go one, once
// each (in the pure-Go build they are the same).
func backends() []Standard {
	if backendName() == "go" {
		return []Standard{{}}
	}
	return []Standard{{}, {Backend: "go"}}
}

func backendLabel(s Standard) string {
	if s.Backend != "" {
		return s.Backend
	}
	return backendName()
}

// BenchmarkHostile measures the time and allocation of each refusal
// (go test -bench Hostile -benchmem).
func BenchmarkHostile(b *testing.B) {
	for _, tc := range hostile(b) {
		b.Run(strings.ReplaceAll(tc.name, " ", "_"), func(b *testing.B) {
			for b.Loop() {
				if _, err := (Standard{}).Make(context.Background(), tc.in); !errors.Is(err, ErrTooLarge) {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestWriteHostile writes the hostile inputs to $AVATAR_HOSTILE_DIR, for
// measuring peak memory in a process of their own (avatarbench mem).
func TestWriteHostile(t *testing.T) {
	dir := os.Getenv("AVATAR_HOSTILE_DIR")
	if dir == "" {
		t.Skip("AVATAR_HOSTILE_DIR not set")
	}
	for _, tc := range hostile(t) {
		name := strings.ReplaceAll(tc.name, " ", "-")
		if err := os.WriteFile(filepath.Join(dir, name), tc.in, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// manyScans is progressive.jpg with its last scan repeated up to n scans.
func manyScans(t testing.TB, n int) []byte {
	prog := readTestdata(t, "progressive.jpg")
	last := bytes.LastIndex(prog, []byte{0xff, 0xda})
	end := bytes.LastIndex(prog, []byte{0xff, 0xd9})
	if last < 0 || end < last {
		t.Fatal("progressive.jpg has no last scan")
	}
	many := append([]byte{}, prog[:end]...)
	for range n - 10 {
		many = append(many, prog[last:end]...)
	}
	return append(many, 0xff, 0xd9)
}
