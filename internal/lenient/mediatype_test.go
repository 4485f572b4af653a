package lenient

import (
	"testing"
)

func TestMediaType(t *testing.T) {
	tests := []struct {
		in, mt string
		params map[string]string
	}{
		{`multipart/related; type=text/xml; boundary="b"`, "multipart/related", map[string]string{"type": "text/xml", "boundary": "b"}},
		{`image/gif; name=saturn.gif;`, "image/gif", map[string]string{"name": "saturn.gif"}},
		{`Multipart/Related; Start="<a;b>"; Boundary=x`, "multipart/related", map[string]string{"start": "<a;b>", "boundary": "x"}},
		{``, "", map[string]string{}},
	}
	for _, tc := range tests {
		mt, params := MediaType(tc.in)
		if mt != tc.mt || len(params) != len(tc.params) {
			t.Errorf("%q: %q %v", tc.in, mt, params)
			continue
		}
		for k, v := range tc.params {
			if params[k] != v {
				t.Errorf("%q: %s = %q, want %q", tc.in, k, params[k], v)
			}
		}
	}
}

// TestSOAPCharsetFromMIME: an envelope without encoding declaration in a
// part labelled ISO-8859-1 is read in that charset.
