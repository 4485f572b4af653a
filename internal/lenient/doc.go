// Package lenient reads MIME the way phones, MMSCs and carrier gateways
// really write it: base64 with junk, QP with stray '=', sloppy media types.
package lenient
