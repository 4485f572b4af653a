package ejabberdapi_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"mmsprofile/xmpp/ejabberdapi"
)

// These tests cover what a real ejabberd cannot be made to do on demand:
// fail with 5xx, answer garbage, or hang. The integration tests cover the
// real answers.

func TestErrorsClassified(t *testing.T) {
	for _, tc := range []struct {
		status    int
		body      string
		code      int
		message   string
		temporary bool
	}{
		{401, `{"status":"error","code":10,"message":"You are not authorized to call this command."}`, 10, "You are not authorized to call this command.", false},
		{403, `{"status":"error","code":32,"message":"AccessRules: Account does not have the right to perform the operation."}`, 32, "AccessRules: Account does not have the right to perform the operation.", false},
		{400, `"unknown_command"`, 0, "unknown_command", false},
		{404, `<html>not here</html>`, 0, "<html>not here</html>", false},
		{429, ``, 0, "", true},
		{500, `{"status":"error","code":-1,"message":"internal"}`, -1, "internal", true},
		{503, strings.Repeat("x", 10000), 0, strings.Repeat("x", 512) + "…", true},
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(tc.status)
			w.Write([]byte(tc.body))
		}))
		c := &ejabberdapi.Client{URL: srv.URL + "/api"}
		err := c.SendStanza(context.Background(), "a@b", "a@b", "<message/>")
		srv.Close()
		var e *ejabberdapi.APIError
		if !errors.As(err, &e) {
			t.Errorf("%d: error %v (%T), want *APIError", tc.status, err, err)
			continue
		}
		if e.Status != tc.status || e.Code != tc.code || e.Message != tc.message || e.Temporary() != tc.temporary {
			t.Errorf("%d: got %+v temporary %v, want code %d message %.40q temporary %v", tc.status, e, e.Temporary(), tc.code, tc.message, tc.temporary)
		}
		if ejabberdapi.Temporary(err) != tc.temporary {
			t.Errorf("%d: Temporary(err) = %v", tc.status, !tc.temporary)
		}
	}
}

func TestRequestShape(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		user, pass, ok := r.BasicAuth()
		if r.Method != http.MethodPost || r.URL.Path != "/api/get_vcard2" || !ok || user != "api@example.org" || pass != "pw" ||
			r.Header.Get("Content-Type") != "application/json" {
			http.Error(w, "bad request shape", http.StatusTeapot)
			return
		}
		w.Write([]byte(`{"content":"aGVs\nbG8="}`))
	}))
	defer srv.Close()
	c := &ejabberdapi.Client{URL: srv.URL + "/api/", User: "api@example.org", Password: "pw"}
	b, err := c.Photo(context.Background(), "alice", "example.org")
	if err != nil || string(b) != "hello" {
		t.Fatalf("Photo = %q, %v", b, err)
	}
}

func TestNoVCardSentinels(t *testing.T) {
	for body, want := range map[string]error{
		`"error_no_vcard_found"`:          ejabberdapi.ErrNoVCard,
		`"error_no_value_found_in_vcard"`: ejabberdapi.ErrNoValue,
	} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusBadRequest)
			w.Write([]byte(body))
		}))
		c := &ejabberdapi.Client{URL: srv.URL}
		_, err := c.GetVCard(context.Background(), "alice", "example.org", "FN")
		if !errors.Is(err, want) {
			t.Errorf("%s: error %v, want %v", body, err, want)
		}
		if b, err := c.Photo(context.Background(), "alice", "example.org"); b != nil || err != nil {
			t.Errorf("%s: Photo = %q, %v; want nil, nil", body, b, err)
		}
		srv.Close()
	}
}

func TestAnswerTooLong(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`"`))
		w.Write([]byte(strings.Repeat("A", ejabberdapi.MaxResponseBytes)))
		w.Write([]byte(`"`))
	}))
	defer srv.Close()
	c := &ejabberdapi.Client{URL: srv.URL}
	_, err := c.GetVCard2(context.Background(), "alice", "example.org", "PHOTO", "BINVAL")
	var e *ejabberdapi.APIError
	if !errors.As(err, &e) || e.Temporary() {
		t.Fatalf("error %v, want a permanent *APIError", err)
	}
}

func TestContextHonoured(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	c := &ejabberdapi.Client{URL: srv.URL}
	err := c.SendStanza(ctx, "a@b", "a@b", "<message/>")
	if !errors.Is(err, context.DeadlineExceeded) || !ejabberdapi.Temporary(err) {
		t.Fatalf("error %v, want a temporary error wrapping context.DeadlineExceeded", err)
	}
}
