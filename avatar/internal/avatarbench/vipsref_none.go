//go:build !vips || !cgo

package main

// vipsRef is nil without libvips.
var vipsRef make128
