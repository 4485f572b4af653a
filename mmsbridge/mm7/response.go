package mm7

import (
	"bytes"
	"encoding/xml"
	"strconv"
	"strings"
)

// answer is one SOAP answer to the MMSC: a …Rsp element, or a Fault with
// VASPErrorRsp in its detail.
type answer struct {
	fault     bool
	element   string // DeliverRsp, DeliveryReportRsp, ReadReplyRsp; VASPErrorRsp in a fault
	namespace string
	txID      string
	version   string
	code      StatusCode
	details   string
}

// maxDetails bounds Status/Details: it is for an operator reading logs,
// never a channel to reflect request content back.
const maxDetails = 200

// httpStatus is 500 for a Fault (SOAP 1.1 §6.2) and 200 otherwise.
func (a answer) httpStatus() int {
	if a.fault {
		return 500
	}
	return 200
}

// marshal writes the envelope. It is written by hand rather than with
// xml.Marshal so the layout matches the shapes MMSCs are tested against:
// TransactionID with mustUnderstand in the Header, the MM7 element with a
// default namespace, unqualified faultcode/faultstring/detail.
func (a answer) marshal() []byte {
	ns := a.namespace
	if ns == "" {
		ns = NSDefault
	}
	version := a.version
	if version == "" {
		version = defaultVersion(ns)
	}
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	b.WriteString(`<env:Envelope xmlns:env="` + NSEnvelope + `">` + "\n")
	if a.txID != "" {
		b.WriteString(`  <env:Header>` + "\n")
		b.WriteString(`    <mm7:TransactionID xmlns:mm7="` + esc(ns) + `" env:mustUnderstand="1">` + esc(a.txID) + "</mm7:TransactionID>\n")
		b.WriteString(`  </env:Header>` + "\n")
	}
	b.WriteString("  <env:Body>\n")
	indent := "    "
	if a.fault {
		fc := a.code.faultCode()
		b.WriteString("    <env:Fault>\n")
		b.WriteString("      <faultcode>env:" + fc + "</faultcode>\n")
		b.WriteString("      <faultstring>" + fc + " error</faultstring>\n")
		b.WriteString("      <detail>\n")
		indent = "        "
	}
	b.WriteString(indent + "<" + a.element + ` xmlns="` + esc(ns) + `">` + "\n")
	b.WriteString(indent + "  <MM7Version>" + esc(version) + "</MM7Version>\n")
	b.WriteString(indent + "  <Status>\n")
	b.WriteString(indent + "    <StatusCode>" + strconv.Itoa(int(a.code)) + "</StatusCode>\n")
	b.WriteString(indent + "    <StatusText>" + esc(a.code.Text()) + "</StatusText>\n")
	if d := truncate(a.details, maxDetails); d != "" {
		b.WriteString(indent + "    <Details>" + esc(d) + "</Details>\n")
	}
	b.WriteString(indent + "  </Status>\n")
	b.WriteString(indent + "</" + a.element + ">\n")
	if a.fault {
		b.WriteString("      </detail>\n")
		b.WriteString("    </env:Fault>\n")
	}
	b.WriteString("  </env:Body>\n")
	b.WriteString("</env:Envelope>\n")
	return []byte(b.String())
}

// defaultVersion is the MM7Version to state when the request gave none:
// the one the schema of that release pins.
func defaultVersion(ns string) string {
	if strings.Contains(ns, "REL-5-") {
		return "5.3.0"
	}
	return "6.8.0"
}

// esc escapes text for element content and attribute values; characters
// XML cannot carry become U+FFFD.
func esc(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s)) // writes to a bytes.Buffer cannot fail
	return b.String()
}

// truncate cuts s to at most n bytes on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8RuneStart(b byte) bool { return b&0xC0 != 0x80 }
