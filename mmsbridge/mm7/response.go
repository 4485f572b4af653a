package mm7

import (
	"fmt"
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

// marshal writes the envelope in the layout MMSCs are tested against:
// TransactionID with mustUnderstand in the Header, the MM7 element with a
// default namespace, unqualified faultcode/faultstring/detail.
func (a answer) marshal() ([]byte, error) {
	ns := a.namespace
	if ns == "" {
		ns = NSDefault
	}
	version := a.version
	if version == "" {
		version = defaultVersion(ns)
	}
	w := newSOAPWriter()
	w.start("env:Envelope", "xmlns:env", NSEnvelope)
	if a.txID != "" {
		w.start("env:Header")
		w.text("mm7:TransactionID", a.txID, "xmlns:mm7", ns, "env:mustUnderstand", "1")
		w.end("env:Header")
	}
	w.start("env:Body")
	if a.fault {
		fc := a.code.faultCode()
		w.start("env:Fault")
		w.text("faultcode", "env:"+fc)
		w.text("faultstring", fc+" error")
		w.start("detail")
	}
	w.start(a.element, "xmlns", ns)
	w.text("MM7Version", version)
	w.start("Status")
	w.text("StatusCode", strconv.Itoa(int(a.code)))
	w.text("StatusText", a.code.Text())
	if d := truncate(a.details, maxDetails); d != "" {
		w.text("Details", d)
	}
	w.end("Status")
	w.end(a.element)
	if a.fault {
		w.end("detail")
		w.end("env:Fault")
	}
	w.end("env:Body")
	w.end("env:Envelope")
	b, err := w.bytes()
	if err != nil {
		return nil, fmt.Errorf("mm7: marshal %s: %w", a.element, err)
	}
	return b, nil
}

// defaultVersion is the MM7Version to state when the request gave none:
// the one the schema of that release pins.
func defaultVersion(ns string) string {
	if strings.Contains(ns, "REL-5-") {
		return "5.3.0"
	}
	return "6.8.0"
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
