// Package charset turns text in the charsets phones, MMSCs and carrier
// gateways declare (XML, MIME, vCard) into UTF-8: one converter for all.
package charset
