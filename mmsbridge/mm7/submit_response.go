package mm7

import (
	"bytes"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"mmsprofile/internal/lenient"
)

// submitAnswer is what was read from an MMSC's SubmitRsp.
type submitAnswer struct {
	txID       string
	namespace  string
	version    string
	messageID  string
	status     StatusCode
	statusText string
}

// readSubmitResponse interprets the MMSC's answer to a SubmitReq: a
// SubmitRsp, a SOAP Fault with RSErrorRsp (or any …ErrorRsp) in its
// detail, or something else entirely (an HTML error page, an empty body).
// The MM7 status, when there is one, decides over the HTTP status: MMSCs
// send Faults with 200 and SubmitRsp errors with 500. It succeeds only for
// a SubmitRsp with a 1xxx status; every failure is a *SubmitError.
//
// The answer is read with the request parser's hardening: no DOCTYPE or
// entities, bounded depth and element count; the caller bounds its size.
func readSubmitResponse(httpStatus int, contentType string, body []byte) (submitAnswer, error) {
	var a submitAnswer
	unreadable := func(why string, err error) (submitAnswer, error) {
		return a, &SubmitError{
			HTTPStatus: httpStatus,
			Temporary:  temporaryHTTP(httpStatus),
			Text:       why + httpSuffix(httpStatus, contentType),
			Err:        err,
		}
	}
	xmlBody, charset := body, ""
	mt, params := lenient.MediaType(contentType)
	if strings.HasPrefix(mt, "multipart/") {
		// SOAP with attachments in an answer is rare, but allowed.
		parts, err := readMultipart(body, params["boundary"], 8, nil)
		root := pickRoot(parts, cleanID(params["start"]))
		if root == nil {
			return unreadable("answer is multipart without a SOAP part", err)
		}
		xmlBody, charset = root.body, root.params["charset"]
	} else {
		charset = params["charset"]
	}
	if len(bytes.TrimSpace(xmlBody)) == 0 {
		return unreadable("empty answer", nil)
	}
	tree, _, err := readEnvelope(soapToUTF8(xmlBody, charset), envelopeLimits{
		maxDepth:    DefaultMaxXMLDepth,
		maxElements: maxSubmitResponseElement,
	})
	if err != nil {
		return unreadable("answer is not SOAP XML", err)
	}
	if tree.name.Local != "Envelope" {
		return unreadable(fmt.Sprintf("answer is <%s>, not a SOAP Envelope", clean(tree.name.Local)), nil)
	}
	if h := tree.child("Header"); h != nil {
		a.txID = h.childText("TransactionID")
	}
	var el *node
	if b := tree.child("Body"); b != nil && len(b.kids) > 0 {
		el = b.kids[0]
	}
	if el == nil {
		return unreadable("SOAP Body missing or empty", nil)
	}
	a.namespace = el.name.Space

	switch {
	case el.name.Local == "Fault":
		return a, faultError(httpStatus, el)
	case el.name.Local == "SubmitRsp":
	case strings.HasSuffix(el.name.Local, "ErrorRsp") && el.child("Status") != nil:
		// An RSErrorRsp written straight into the Body, without the
		// Fault around it: seen from MMSCs that skip the SOAP layer.
		return a, statusError(httpStatus, el)
	default:
		// A DeliverRsp or anything else: the URL is some other service.
		return a, &SubmitError{
			HTTPStatus: httpStatus,
			Text:       fmt.Sprintf("answer is %s, not SubmitRsp%s", clean(el.name.Local), httpSuffix(httpStatus, "")),
		}
	}

	a.version = clean(el.childText("MM7Version"))
	a.messageID = clean(el.childText("MessageID"))
	code, text, ok := readStatus(el)
	if !ok {
		return a, &SubmitError{HTTPStatus: httpStatus, Text: "SubmitRsp without a readable Status/StatusCode"}
	}
	a.status, a.statusText = code, text
	if code < 1000 || code >= 2000 {
		return a, statusError(httpStatus, el)
	}
	// Success even under an HTTP error status: the MMSC has the message,
	// and sending it again would reach the phone twice.
	return a, nil
}

// faultError reads a SOAP Fault: the MM7 status from the …ErrorRsp in its
// detail, or, failing that, the SOAP faultcode (Server means try again
// later, SOAP 1.1 §4.4.1; anything else is the request's fault).
func faultError(httpStatus int, fault *node) error {
	detail := fault.child("detail")
	if detail == nil {
		detail = fault.child("Detail") // SOAP 1.2 spelling
	}
	for _, k := range detailKids(detail) {
		if k.child("Status") != nil {
			return statusError(httpStatus, k)
		}
	}
	fc := clean(fault.childText("faultcode"))
	if _, local, ok := strings.Cut(fc, ":"); ok {
		fc = local
	}
	text := "SOAP Fault"
	if fc != "" {
		text += " " + fc
	}
	if fs := clean(fault.childText("faultstring")); fs != "" {
		text += ": " + fs
	}
	return &SubmitError{
		HTTPStatus: httpStatus,
		Temporary:  strings.HasPrefix(fc, "Server"),
		Text:       truncate(text, maxDetails),
	}
}

func detailKids(detail *node) []*node {
	if detail == nil {
		return nil
	}
	// Some MMSCs put Status straight into detail.
	return append([]*node{detail}, detail.kids...)
}

// statusError is the *SubmitError for an element carrying a non-success
// Status; one whose Status cannot be read counts as a server error, which
// is retried.
func statusError(httpStatus int, el *node) error {
	code, text, ok := readStatus(el)
	if !ok {
		return &SubmitError{
			HTTPStatus: httpStatus,
			Temporary:  temporaryHTTP(httpStatus),
			Text:       fmt.Sprintf("%s without a readable Status/StatusCode", clean(el.name.Local)),
		}
	}
	return &SubmitError{Status: code, Text: text, HTTPStatus: httpStatus, Temporary: temporaryStatus(code)}
}

// readStatus reads Status/StatusCode, StatusText and Details of el, the
// text cleaned for logs.
func readStatus(el *node) (StatusCode, string, bool) {
	st := el.child("Status")
	if st == nil {
		return 0, "", false
	}
	n, err := strconv.Atoi(strings.TrimSpace(st.childText("StatusCode")))
	if err != nil || n < 1000 || n > 9999 {
		return 0, "", false
	}
	text := clean(st.childText("StatusText"))
	if d := clean(st.childText("Details")); d != "" {
		if text != "" {
			text += ": "
		}
		text += d
	}
	return StatusCode(n), truncate(text, maxDetails), true
}

// temporaryStatus reports whether the MMSC asks us to try again: 4006
// (service unavailable) and the server errors 3xxx. Client errors 2xxx
// and the other 4xxx (unsupported, validation, denied) will not change.
func temporaryStatus(c StatusCode) bool {
	return c == StatusServiceUnavailable || (c >= 3000 && c < 4000)
}

// temporaryHTTP reports whether an HTTP status without MM7 content is
// worth retrying: server errors, 408 and 429. 401/403 (credentials,
// allowlist), 404 (URL) and 2xx with garbage are configuration errors
// that repeating will not fix.
func temporaryHTTP(code int) bool {
	return code >= 500 || code == http.StatusRequestTimeout || code == http.StatusTooManyRequests
}

func httpSuffix(code int, contentType string) string {
	s := fmt.Sprintf(" (HTTP %d %s", code, http.StatusText(code))
	if contentType != "" {
		s += ", " + clean(contentType)
	}
	return s + ")"
}

// clean makes text from the MMSC safe for logs and error strings: valid
// UTF-8, no control characters, spaces collapsed.
func clean(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || r == '\u2028' || r == '\u2029' {
			return ' '
		}
		return r
	}, s)
	return truncate(strings.Join(strings.Fields(s), " "), 4*maxDetails)
}
