// Package samplepic draws deterministic stand-ins for camera photos, for
// the avatar package's tests and benchmarks: realistic JPEG sizes, Huffman
// data and decode costs without shipping large files.
package samplepic
