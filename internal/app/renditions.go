package app

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"mmsprofile/metrics"
	"mmsprofile/publisher"
	"mmsprofile/storage"
)

// renditionTimeout bounds the database read behind one request.
const renditionTimeout = 5 * time.Second

// renditionPattern is what the ops listener serves renditions at: the path
// the publisher builds URLs with. GET patterns take HEAD too; other methods
// get 405 from the mux.
const renditionPattern = "GET " + publisher.RenditionPath + "{file}"

// renditionHandler serves avatar renditions, GET and HEAD
// /avatar/{sha1}.jpg, to anyone: what it serves is already published to
// every contact. A rendition never changes (its name is its SHA-1), so it
// is cached for a year and revalidated by ETag alone.
type renditionHandler struct {
	read    func(ctx context.Context, id string) (storage.Rendition, error)
	metrics *metrics.Metrics
	log     *slog.Logger
}

func (h renditionHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	id, ok := strings.CutSuffix(r.PathValue("file"), ".jpg")
	if !ok || !isSHA1Hex(id) {
		// Not a name we give out: the database is not asked.
		h.metrics.RenditionRequest(metrics.RenditionNotFound)
		renditionNotFound(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), renditionTimeout)
	defer cancel()
	rd, err := h.read(ctx, id)
	switch {
	case errors.Is(err, storage.ErrNotFound):
		h.metrics.RenditionRequest(metrics.RenditionNotFound)
		renditionNotFound(w)
		return
	case err != nil:
		if r.Context().Err() != nil {
			return // the client went away
		}
		h.log.Warn("rendition request: database did not answer", "id", id, "err", err)
		h.metrics.RenditionRequest(metrics.RenditionUnavailable)
		w.Header().Set("Retry-After", "10")
		http.Error(w, "temporarily unavailable, try again later", http.StatusServiceUnavailable)
		return
	}
	hdr := w.Header()
	hdr.Set("Cache-Control", "public, max-age=31536000, immutable")
	hdr.Set("ETag", `"`+id+`"`)
	hdr.Set("X-Content-Type-Options", "nosniff")
	// Web clients (Converse.js, Movim) fetch pictures from their own origin.
	hdr.Set("Access-Control-Allow-Origin", "*")
	if etagListed(r.Header.Get("If-None-Match"), id) {
		h.metrics.RenditionRequest(metrics.RenditionNotModified)
		w.WriteHeader(http.StatusNotModified)
		return
	}
	hdr.Set("Content-Type", rd.Type)
	hdr.Set("Content-Length", strconv.Itoa(len(rd.Data)))
	h.metrics.RenditionRequest(metrics.RenditionServed)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		_, _ = w.Write(rd.Data)
	}
}

// renditionNotFound answers 404 with publisher.RenditionNotFound, by which
// doctor tells our answer through the operator's proxy from the proxy's own.
func renditionNotFound(w http.ResponseWriter) {
	http.Error(w, publisher.RenditionNotFound, http.StatusNotFound)
}

// isSHA1Hex reports whether s is 40 lowercase hex digits, the only names
// renditions have.
func isSHA1Hex(s string) bool {
	if len(s) != 40 {
		return false
	}
	for _, c := range []byte(s) {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}

// etagListed reports whether an If-None-Match header names the entity tag
// "id", weakly compared as RFC 9110 asks for this header, or is "*".
func etagListed(header, id string) bool {
	for tag := range strings.SplitSeq(header, ",") {
		tag = strings.TrimSpace(tag)
		if tag == "*" || strings.TrimPrefix(tag, "W/") == `"`+id+`"` {
			return true
		}
	}
	return false
}
