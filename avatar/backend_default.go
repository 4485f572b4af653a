//go:build !vips || !cgo

package avatar

// acceleratedBackend is nil in the default build: pure Go, no C toolchain.
// Build with -tags vips (cgo and libvips-dev) for libvips' speed and
// colour management.
func acceleratedBackend() backend { return nil }
