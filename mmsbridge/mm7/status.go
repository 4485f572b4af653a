package mm7

import (
	"errors"
	"fmt"
)

// StatusCode is an MM7 Status/StatusCode (TS 23.140 §8.7.4, table 26).
type StatusCode int

// The status codes this package answers with.
const (
	StatusSuccess              StatusCode = 1000
	StatusClientError          StatusCode = 2000
	StatusAddressError         StatusCode = 2002
	StatusAddressNotFound      StatusCode = 2003
	StatusContentRefused       StatusCode = 2004
	StatusMessageIDNotFound    StatusCode = 2005
	StatusMessageFormatCorrupt StatusCode = 2007
	StatusServerError          StatusCode = 3000
	StatusNotPossible          StatusCode = 3001
	StatusUnsupportedOperation StatusCode = 4003
	StatusValidationError      StatusCode = 4004
	StatusServiceUnavailable   StatusCode = 4006
	StatusServiceDenied        StatusCode = 4007
)

// Text is the StatusText that goes with the code. MMSCs log it; some show
// it in their consoles, so it stays the standard wording and any detail
// goes into Status/Details.
func (c StatusCode) Text() string {
	switch c {
	case StatusSuccess:
		return "Success"
	case StatusClientError:
		return "Client error"
	case StatusAddressError:
		return "Address Error"
	case StatusAddressNotFound:
		return "Address Not Found"
	case StatusContentRefused:
		return "Multimedia content refused"
	case StatusMessageIDNotFound:
		return "Message ID not found"
	case StatusMessageFormatCorrupt:
		return "Message format corrupt"
	case StatusServerError:
		return "Server error"
	case StatusNotPossible:
		return "Not Possible"
	case StatusUnsupportedOperation:
		return "Unsupported operation"
	case StatusValidationError:
		return "Validation error"
	case StatusServiceUnavailable:
		return "Service unavailable"
	case StatusServiceDenied:
		return "Service denied"
	}
	return fmt.Sprintf("Status %d", int(c))
}

// faultCode is the SOAP faultcode for a code that ends up in a Fault:
// the MMSC's fault (2xxx, 4xxx) is "Client", ours (3xxx) is "Server".
func (c StatusCode) faultCode() string {
	if c >= 3000 && c < 4000 {
		return "Server"
	}
	return "Client"
}

// Error is a request that cannot be taken as it is, with the status code
// the MMSC is to be told. Parse returns it for every refusal, so the
// handler turns errors into status codes in one place.
type Error struct {
	Code StatusCode
	// Detail is safe to send back to the MMSC in Status/Details: it never
	// quotes request content beyond names of elements and media types.
	Detail string
	Err    error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("mm7: %d %s: %s: %v", int(e.Code), e.Code.Text(), e.Detail, e.Err)
	}
	return fmt.Sprintf("mm7: %d %s: %s", int(e.Code), e.Code.Text(), e.Detail)
}

func (e *Error) Unwrap() error { return e.Err }

// fail builds an *Error.
func fail(code StatusCode, err error, format string, args ...any) *Error {
	return &Error{Code: code, Detail: fmt.Sprintf(format, args...), Err: err}
}

// ErrLimit marks an input that went past one of the Limits.
var ErrLimit = errors.New("limit exceeded")
