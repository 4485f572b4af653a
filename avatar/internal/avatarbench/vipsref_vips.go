//go:build vips && cgo

package main

/*
#cgo pkg-config: vips
#include <vips/vips.h>

// libvips on its own, as a program using it directly would: thumbnail
// from the buffer with a centre crop, then a stripped PNG.
static int ref_thumb(void *buf, size_t len, void **out, size_t *outlen) {
	VipsImage *t = NULL;
	int ret;
	if (vips_thumbnail_buffer(buf, len, &t, 128, "height", 128, "crop", VIPS_INTERESTING_CENTRE, NULL))
		return -1;
	ret = vips_pngsave_buffer(t, out, outlen, "strip", TRUE, NULL);
	g_object_unref(t);
	return ret;
}
*/
import "C"

import (
	"errors"
	"runtime"
	"unsafe"
)

// vipsRef is libvips' own in-process time, what the vips backend is held
// to (within 1.3x). It shares the process's libvips set-up only when both
// run in one process; the script runs it in its own.
var vipsRef make128 = func(data []byte) ([]byte, error) {
	if C.vips_init(C.CString("avatarbench")) != 0 {
		return nil, errors.New("vips_init failed")
	}
	var pin runtime.Pinner
	pin.Pin(&data[0])
	defer pin.Unpin()
	var out unsafe.Pointer
	var n C.size_t
	if C.ref_thumb(unsafe.Pointer(&data[0]), C.size_t(len(data)), &out, &n) != 0 {
		return nil, errors.New(C.GoString(C.vips_error_buffer()))
	}
	defer C.g_free(C.gpointer(out))
	return C.GoBytes(out, C.int(n)), nil
}
