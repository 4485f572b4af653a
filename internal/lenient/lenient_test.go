package lenient

import "testing"

func TestBase64(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"aGVsbG8=", "hello"},
		{"aGVs\r\nbG8=", "hello"},
		{"aGVs bG8=\r\n--boundary junk", "hello"},
		{"aGVsbG8", "hello"},
		{"a-_-", "k\xef\xfe"},
		{"aGVs bG8*=", "hello"},
		{"aGVsbG8gd29ybGQ", "hello world"},
		{"aGVsbG8gd29ybG", "hello worl"}, // cut short mid-group
		{"aA", "h"},
		{"a", ""},
		{"-_8", "\xfb\xff"},
		{"", ""},
	} {
		if got := string(Base64([]byte(tc.in))); got != tc.want {
			t.Errorf("Base64(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestQuotedPrintable(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"J=F6rg", "J\xf6rg"},
		{"soft=\r\nbreak", "softbreak"},
		{"soft= \nbreak", "softbreak"},
		{"a=zz b", "a=zz b"},
		{"end=", "end"},
		{"=3D", "="},
		{"caf=C3=A9 =\r\nok", "café ok"},
	} {
		if got := string(QuotedPrintable([]byte(tc.in))); got != tc.want {
			t.Errorf("QuotedPrintable(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestTransfer(t *testing.T) {
	if got := string(Transfer([]byte("aGk="), " BASE64 ")); got != "hi" {
		t.Fatalf("BASE64: %q", got)
	}
	if got := string(Transfer([]byte("raw"), "8bit")); got != "raw" {
		t.Fatalf("8bit: %q", got)
	}
}
