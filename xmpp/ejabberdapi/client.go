package ejabberdapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
)

// MaxResponseBytes caps what Call reads of an answer. A vCard photo comes
// back base64-encoded, so this leaves room for avatars far above the
// operator's budget; anything longer is an error rather than a silently
// cut BINVAL whose hash would then never match.
const MaxResponseBytes = 4 << 20

// maxMessageBytes caps how much of an error body goes into an APIError.
const maxMessageBytes = 512

// Client calls ejabberd's HTTP API. The zero value is not usable: URL is
// required. A Client is safe for concurrent use once its fields are set.
type Client struct {
	// URL is the base of mod_http_api's request handler, such as
	// http://127.0.0.1:5280/api. Commands are POSTed to URL/COMMAND.
	URL string
	// User and Password, when User is set, are sent as HTTP Basic
	// credentials. User is a bare JID (mmsapi@example.org) named in the
	// server's api_permissions.
	User, Password string
	// HTTP is the client used; nil means http.DefaultClient. The context
	// passed to each call bounds it, so no client timeout is needed.
	HTTP *http.Client
}

// APIError is a failed call: either ejabberd answered with an error, or no
// answer arrived (Status 0, Err says why).
type APIError struct {
	Command string // the command called, e.g. "send_stanza"
	Status  int    // HTTP status; 0 when no answer arrived
	Code    int    // ejabberd's error code from the JSON body, 0 if none
	Message string // ejabberd's message, or the start of a body that was not JSON
	Err     error  // the transport error when Status is 0
}

func (e *APIError) Error() string {
	if e.Status == 0 {
		return fmt.Sprintf("ejabberdapi: %s: %v", e.Command, e.Err)
	}
	msg := fmt.Sprintf("ejabberdapi: %s: %d %s", e.Command, e.Status, http.StatusText(e.Status))
	if e.Code != 0 {
		msg += " (code " + strconv.Itoa(e.Code) + ")"
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

func (e *APIError) Unwrap() error { return e.Err }

// Temporary reports whether the same call may succeed later unchanged:
// when no answer arrived (connection refused, timeout), or the server
// said it is overloaded or broken (408, 429, 5xx). Authentication,
// permission and request errors (401, 403, 400, 404) need a person.
func (e *APIError) Temporary() bool {
	switch {
	case e.Status == 0:
		return true
	case e.Status == http.StatusRequestTimeout, e.Status == http.StatusTooManyRequests:
		return true
	case e.Status >= 500:
		return true
	}
	return false
}

// Temporary reports whether err is an *APIError that is Temporary. Errors
// of any other kind are not.
func Temporary(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Temporary()
}

// Call POSTs args as JSON to URL/command and decodes the JSON answer into
// result (which may be nil to ignore it). Non-2xx answers are *APIError,
// as are transport failures; ctx bounds the whole call.
func (c *Client) Call(ctx context.Context, command string, args, result any) error {
	if c.URL == "" {
		return fmt.Errorf("ejabberdapi: %s: no URL", command)
	}
	body, err := json.Marshal(args)
	if err != nil {
		return fmt.Errorf("ejabberdapi: %s: %w", command, err)
	}
	url := strings.TrimSuffix(c.URL, "/") + "/" + command
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("ejabberdapi: %s: %w", command, err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	if c.User != "" {
		req.SetBasicAuth(c.User, c.Password)
	}
	hc := c.HTTP
	if hc == nil {
		hc = http.DefaultClient
	}
	resp, err := hc.Do(req)
	if err != nil {
		return &APIError{Command: command, Err: err}
	}
	defer resp.Body.Close()
	// One byte more than allowed, to tell "exactly at the cap" from "over".
	data, err := io.ReadAll(io.LimitReader(resp.Body, MaxResponseBytes+1))
	if err != nil {
		// The answer was cut off in transit: as good as none.
		return &APIError{Command: command, Err: fmt.Errorf("reading answer (status %d): %w", resp.StatusCode, err)}
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return errorFromBody(command, resp.StatusCode, data)
	}
	if len(data) > MaxResponseBytes {
		return &APIError{Command: command, Status: resp.StatusCode, Message: fmt.Sprintf("answer longer than %d bytes", MaxResponseBytes)}
	}
	if result == nil {
		return nil
	}
	if err := json.Unmarshal(data, result); err != nil {
		// A 200 that is not the command's JSON: the URL points at
		// something that is not mod_http_api, which retrying will not fix.
		return &APIError{Command: command, Status: resp.StatusCode, Message: "unexpected answer: " + snippet(data) + ": " + err.Error()}
	}
	return nil
}

// errorFromBody reads mod_http_api's error body,
// {"status":"error","code":10,"message":"…"}, or keeps the start of
// whatever else came (a proxy's HTML page, a bare string).
func errorFromBody(command string, status int, data []byte) *APIError {
	e := &APIError{Command: command, Status: status}
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(data, &body); err == nil && (body.Code != 0 || body.Message != "") {
		e.Code, e.Message = body.Code, truncate(body.Message)
		return e
	}
	var msg string
	if err := json.Unmarshal(data, &msg); err == nil {
		e.Message = truncate(msg)
		return e
	}
	e.Message = snippet(data)
	return e
}

func truncate(s string) string {
	if len(s) <= maxMessageBytes {
		return s
	}
	return strings.ToValidUTF8(s[:maxMessageBytes], "") + "…"
}

func snippet(data []byte) string {
	return truncate(strings.TrimSpace(string(data)))
}

// SendStanza routes stanza (one XML element) inside the server as if from
// had sent it to to; ejabberd sets the stanza's from and to attributes to
// these. For a vcard-temp set this runs the same hooks as a client's own
// set: mod_avatar publishes the photo to PEP, mod_vcard_xupdate announces
// the new hash in presence.
//
// For a vCard, from must be the owner's bare JID: with a resource,
// ejabberd 23.01 routes the PEP notification for contacts through that
// resource's session, and when there is none, contacts get no event.
//
// A nil error means only that ejabberd routed the stanza: it answers 200
// even when the stanza then fails. Confirm the effect separately: for a
// photo, compare the SHA-1 of what Photo returns.
func (c *Client) SendStanza(ctx context.Context, from, to, stanza string) error {
	args := map[string]string{"from": from, "to": to, "stanza": stanza}
	var code int
	if err := c.Call(ctx, "send_stanza", args, &code); err != nil {
		return err
	}
	if code != 0 {
		return &APIError{Command: "send_stanza", Status: http.StatusOK, Code: code, Message: "non-zero result"}
	}
	return nil
}

// ErrNoVCard matches (errors.Is) the error of the vCard getters for an
// account that has no vCard at all, or does not exist: ejabberd does not
// tell the two apart.
var ErrNoVCard = errors.New("ejabberdapi: no vCard")

// ErrNoValue matches (errors.Is) the error of GetVCard and GetVCard2 for
// a field the vCard lacks.
var ErrNoValue = errors.New("ejabberdapi: no such vCard field")

// Is makes errors.Is(err, ErrNoVCard) and errors.Is(err, ErrNoValue) work
// on ejabberd's answers for them: 400 "error_no_vcard_found" and 400
// "error_no_value_found_in_vcard".
func (e *APIError) Is(target error) bool {
	if e.Status != http.StatusBadRequest {
		return false
	}
	switch target {
	case ErrNoVCard:
		return e.Message == "error_no_vcard_found"
	case ErrNoValue:
		return e.Message == "error_no_value_found_in_vcard"
	}
	return false
}

// GetVCard returns the text of the top-level vCard field name (FN,
// NICKNAME, DESC…) of user@host. For an account without a vCard the
// error matches ErrNoVCard, for a field the vCard lacks ErrNoValue.
func (c *Client) GetVCard(ctx context.Context, user, host, name string) (string, error) {
	args := map[string]string{"user": user, "host": host, "name": name}
	return c.callContent(ctx, "get_vcard", args)
}

// GetVCard2 returns the text of the vCard field name/subname (PHOTO/BINVAL,
// N/GIVEN, ORG/ORGNAME…) of user@host; for a repeated field, the first.
// For an account without a vCard the error matches ErrNoVCard, for a
// field the vCard lacks ErrNoValue.
func (c *Client) GetVCard2(ctx context.Context, user, host, name, subname string) (string, error) {
	args := map[string]string{"user": user, "host": host, "name": name, "subname": subname}
	return c.callContent(ctx, "get_vcard2", args)
}

// GetVCard2Multi returns the texts of every name/subname field (all
// EMAIL/USERID, all TEL/NUMBER) of user@host.
func (c *Client) GetVCard2Multi(ctx context.Context, user, host, name, subname string) ([]string, error) {
	var raw []json.RawMessage
	args := map[string]string{"user": user, "host": host, "name": name, "subname": subname}
	if err := c.Call(ctx, "get_vcard2_multi", args, &raw); err != nil {
		return nil, err
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		v, err := content(r)
		if err != nil {
			return nil, &APIError{Command: "get_vcard2_multi", Status: http.StatusOK, Message: "unexpected answer: " + snippet(r)}
		}
		out = append(out, v)
	}
	return out, nil
}

func (c *Client) callContent(ctx context.Context, command string, args any) (string, error) {
	var raw json.RawMessage
	if err := c.Call(ctx, command, args, &raw); err != nil {
		return "", err
	}
	v, err := content(raw)
	if err != nil {
		return "", &APIError{Command: command, Status: http.StatusOK, Message: "unexpected answer: " + snippet(raw)}
	}
	return v, nil
}

// content reads a command's string result, which mod_http_api wraps in an
// object named after the result ({"content":"…"} for the vCard getters)
// and which other ejabberd versions send bare.
func content(raw json.RawMessage) (string, error) {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj map[string]string
	if err := json.Unmarshal(raw, &obj); err != nil {
		return "", err
	}
	if len(obj) != 1 {
		return "", fmt.Errorf("%d fields, want 1", len(obj))
	}
	for _, v := range obj {
		s = v
	}
	return s, nil
}

// Photo returns the decoded PHOTO/BINVAL of user@host's vCard, or nil when
// there is no vCard or it has no photo: the confirmation that a photo sent
// with SendStanza arrived (compare its SHA-1 with the one sent).
func (c *Client) Photo(ctx context.Context, user, host string) ([]byte, error) {
	v, err := c.GetVCard2(ctx, user, host, "PHOTO", "BINVAL")
	if errors.Is(err, ErrNoVCard) || errors.Is(err, ErrNoValue) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	// Base64 in a vCard is often wrapped over several lines.
	v = strings.Map(func(r rune) rune {
		switch r {
		case ' ', '\t', '\r', '\n':
			return -1
		}
		return r
	}, v)
	if v == "" {
		return nil, nil
	}
	b, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		return nil, fmt.Errorf("ejabberdapi: photo of %s@%s: %w", user, host, err)
	}
	return b, nil
}
