package lenient

import (
	"mime"
	"strings"
)

// MediaType parses a Content-Type or Content-Disposition value.
// mime.ParseMediaType is tried first (it knows RFC 2231 continuations);
// where it refuses what MMSCs and carriers send (an unquoted
// type=text/xml, a dangling ";", capitalised names, duplicate parameters)
// a forgiving split on ";" and "=" is used instead. It never fails: the
// media type and parameter names come back lower-case, the type empty when
// there was none, and the first of duplicate parameters wins.
func MediaType(v string) (string, map[string]string) {
	if mt, params, err := mime.ParseMediaType(v); err == nil {
		return mt, params
	}
	params := map[string]string{}
	fields := splitParams(v)
	if len(fields) == 0 {
		return "", params
	}
	mt := strings.ToLower(strings.TrimSpace(fields[0]))
	for _, f := range fields[1:] {
		k, val, ok := strings.Cut(f, "=")
		if !ok {
			continue
		}
		k = strings.ToLower(strings.TrimSpace(k))
		val = strings.TrimSpace(val)
		if len(val) >= 2 && val[0] == '"' && val[len(val)-1] == '"' {
			val = strings.ReplaceAll(val[1:len(val)-1], `\"`, `"`)
		}
		if _, dup := params[k]; !dup && k != "" {
			params[k] = val
		}
	}
	return mt, params
}

// splitParams splits a header value on ";" outside double quotes.
func splitParams(v string) []string {
	var out []string
	quoted := false
	start := 0
	for i := 0; i < len(v); i++ {
		switch v[i] {
		case '"':
			quoted = !quoted
		case '\\':
			if quoted {
				i++
			}
		case ';':
			if !quoted {
				out = append(out, v[start:i])
				start = i + 1
			}
		}
	}
	if start < len(v) {
		out = append(out, v[start:])
	}
	return out
}
