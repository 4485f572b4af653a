// Package lenient decodes transfer encodings the way phones, MMSCs and
// carrier gateways really write them: base64 with junk, QP with stray '='.
package lenient
