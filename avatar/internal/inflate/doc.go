// Package inflate decompresses zlib streams (RFC 1950) of DEFLATE data
// (RFC 1951: stored, fixed-Huffman and dynamic-Huffman blocks) held in
// memory as a list of slices, such as a PNG's IDAT chunks, and hands the
// data on as an io.Reader.
//
// It exists because compress/zlib was most of pngscale's decode time:
// 57 ms of inflate for a 1600x1200 RGBA PNG (136 MB/s of output), where
// this package takes 20 ms (389 MB/s), and 2.5 to 2.7 times as fast on
// 12 MP RGB, 16-bit RGBA and palette PNGs (BenchmarkInflate, on a shared
// 2-core Xeon). Its speed comes from what the input being in memory
// allows and from zlib's and libdeflate's known techniques:
//
//   - a 64-bit bit buffer refilled with one unaligned 8-byte load while
//     the current slice holds 8 bytes, byte by byte across slices and at
//     the input's end;
//   - tables decoding a symbol in one lookup (11 bits for literals and
//     lengths, 8 for distances, subtables for longer codes), whose
//     entries hold the code length, the extra bits and the base value;
//   - a loop free of end checks while the input and the output space
//     last, and matches copied 8 bytes at a time where the distance is 8
//     or more;
//   - an Adler-32 summing 16 bytes a step with multiplies (5.8 GB/s,
//     hash/adler32 3.1 GB/s).
//
// The input is not copied together (a 30 MB PNG would need 30 MB more),
// and the reader holds the 32 KiB window and 128 KiB of output, whatever
// the stream's size.
//
// It accepts and refuses what compress/zlib does, FuzzInflate checks:
// a preset dictionary is refused, a code set must be complete (save a
// single code of length 1, or no distance code at all), symbols 286 and
// 287 and distances 30 and 31 are invalid, and a distance may not reach
// before the data's start. A stream cut short gives an error wrapping
// io.ErrUnexpectedEOF, a malformed one an error wrapping ErrCorrupt.
// Read returns io.EOF only at the stream's end, after its checksum, and
// Trailing tells how many bytes follow.
package inflate // import "mmsprofile/avatar/internal/inflate"
