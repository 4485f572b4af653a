package jpegscale

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParallel checks that decoding a progressive picture's scans on
// several goroutines gives the very samples, or the very error, of
// decoding them one after the other. Plain go test runs the seeds: the
// progressive test pictures, whole, cut short, and with a byte of their
// scans changed.
func FuzzParallel(f *testing.F) {
	for _, name := range []string{"prog420.jpg", "progrst444.jpg", "proggray.jpg", "small/prog420.jpg", "small/progrst444.jpg", "small/proggray.jpg"} {
		data, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
		for n := len(data) / 8; n < len(data); n += len(data) / 8 {
			f.Add(data[:n])
			damaged := bytes.Clone(data)
			damaged[n] ^= 0x5a
			f.Add(damaged)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		// As in FuzzDecode: no SOF-like bytes claiming more than 64K
		// pixels, to keep the fuzzer off memory.
		for i := 0; i+9 <= len(data); i++ {
			if data[i] == 0xff && data[i+1]&0xf0 == 0xc0 {
				if h, w := int(data[i+5])<<8|int(data[i+6]), int(data[i+7])<<8|int(data[i+8]); h*w > 1<<16 {
					return
				}
			}
		}
		for _, scale := range []int{2, 4} {
			want, wantErr := decodeWith(data, scale, 1)
			got, gotErr := decodeWith(data, scale, 4)
			if fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Fatalf("1/%d: %v on 4 goroutines, %v on 1", scale, gotErr, wantErr)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("1/%d: samples differ on 4 goroutines", scale)
			}
		}
	})
}

// decodeWith decodes data as Decode does but on the given number of
// goroutines, and returns all planes' samples one after the other.
func decodeWith(data []byte, scale, workers int) ([]byte, error) {
	d := newDecoder(data, scale, workers)
	err := d.decode()
	if err == errSequential {
		d = newDecoder(data, scale, 1)
		err = d.decode()
	}
	if err != nil {
		return nil, err
	}
	var out []byte
	for i := range d.nf {
		out = append(out, d.comps[i].plane...)
	}
	return out, nil
}
