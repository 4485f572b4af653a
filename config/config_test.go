package config

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// The contract in DESIGN.md: a file holding only these keys must run.
const contractKeys = `
[xmpp]
component = "mms.example.org"
server    = "127.0.0.1:5347"
secret    = "s3cret"
domains   = ["example.org"]

[storage]
driver = "sqlite"
dsn    = "/var/lib/mmsprofile/state.db"

[mm7]
listen   = "127.0.0.1:8080"
path     = "/mm7"
username = "mmsc-relay"
password = "pw"

[email]
listen   = "127.0.0.1:2525"

[avatar]
size   = 128
format = "png"
max_bytes = 65536

[http]
listen = "127.0.0.1:9090"
`

func TestContractKeysAlone(t *testing.T) {
	cfg, err := Parse([]byte(contractKeys), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.XMPP.Component != "mms.example.org" || cfg.Avatar.Size != 128 || cfg.MM7.Path != "/mm7" {
		t.Fatalf("unexpected %+v", cfg)
	}
	if cfg.Publish.RetryMin != 2*time.Second || cfg.XMPP.ReconnectMax != time.Minute {
		t.Fatalf("defaults not applied: %+v %+v", cfg.Publish, cfg.XMPP)
	}
}

func TestExampleFileIsValid(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	// The example documents the defaults: it must not drift from them.
	def := Default()
	// "accept = []" in the file is an empty list, the default a nil one.
	cfg.Avatar.Accept, cfg.Avatar.Hook = nil, nil
	if !reflect.DeepEqual(cfg.Avatar, def.Avatar) || cfg.Publish != def.Publish || cfg.HTTP != def.HTTP || cfg.Profile != def.Profile || cfg.Limits != def.Limits || cfg.Log != def.Log {
		t.Fatalf("config.example.toml differs from Default():\n%+v\n%+v", cfg, def)
	}
}

func TestErrorsNameTheKey(t *testing.T) {
	tests := []struct {
		name, edit, want string
	}{
		{"missing component", `component = "mms.example.org"` + "\n", "xmpp.component is required"},
		{"bad driver", `driver = "sqlite"`, `storage.driver "mysql"`},
		{"unknown key", `size   = 128`, "unknown keys: avatar.colour"},
		{"bad size", `size   = 128`, "avatar.size 4"},
		{"bad listen", `listen   = "127.0.0.1:8080"`, "mm7.listen"},
		{"bad concurrency", `[http]`, "publish.concurrency must be >= 1"},
	}
	repl := map[string]string{
		"missing component": "",
		"bad driver":        `driver = "mysql"`,
		"unknown key":       "size = 128\ncolour = \"red\"",
		"bad size":          "size = 4",
		"bad listen":        `listen = "nope"`,
		"bad concurrency":   "[publish]\nconcurrency = 0\n\n[http]",
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			raw := strings.Replace(contractKeys, tc.edit, repl[tc.name], 1)
			_, err := Parse([]byte(raw), "test.toml")
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
}

func TestSecretFile(t *testing.T) {
	dir := t.TempDir()
	f := filepath.Join(dir, "secret")
	if err := os.WriteFile(f, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	raw := strings.Replace(contractKeys, `secret    = "s3cret"`, `secret_file = "`+f+`"`, 1)
	cfg, err := Parse([]byte(raw), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.XMPP.Secret != "from-file" {
		t.Fatalf("secret %q", cfg.XMPP.Secret)
	}
	both := strings.Replace(contractKeys, `secret    = "s3cret"`, `secret = "x"`+"\n"+`secret_file = "`+f+`"`, 1)
	if _, err := Parse([]byte(both), "test.toml"); err == nil || !strings.Contains(err.Error(), "both set") {
		t.Fatalf("want both-set error, got %v", err)
	}
}

// Every key the program reads is documented in config.example.toml (as a
// setting or a commented-out example).
func TestExampleDocumentsEveryKey(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("..", "config.example.toml"))
	if err != nil {
		t.Fatal(err)
	}
	example := string(raw)
	var walk func(prefix string, typ reflect.Type)
	walk = func(prefix string, typ reflect.Type) {
		for i := 0; i < typ.NumField(); i++ {
			f := typ.Field(i)
			key := f.Tag.Get("toml")
			if key == "" || key == "-" {
				continue
			}
			ft := f.Type
			if ft.Kind() == reflect.Slice && ft.Elem().Kind() == reflect.Struct {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != reflect.TypeOf(time.Duration(0)) {
				walk(prefix+key+".", ft)
				continue
			}
			if !strings.Contains(example, "\n"+key+" =") && !strings.Contains(example, "# "+key+" =") {
				t.Errorf("%s%s is not documented in config.example.toml", prefix, key)
			}
		}
	}
	walk("", reflect.TypeOf(Config{}))
}

func TestRenditionKeys(t *testing.T) {
	parse := func(t *testing.T, avatarKeys, httpKeys string) (Config, error) {
		t.Helper()
		raw := strings.Replace(contractKeys, "max_bytes = 65536", "max_bytes = 65536\n"+avatarKeys, 1)
		raw = strings.Replace(raw, `listen = "127.0.0.1:9090"`, `listen = "127.0.0.1:9090"`+"\n"+httpKeys, 1)
		return Parse([]byte(raw), "test.toml")
	}
	t.Run("defaults", func(t *testing.T) {
		cfg, err := parse(t, "", "")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.HTTP.PublicURL != "" || !reflect.DeepEqual(cfg.Avatar.Renditions, []int{512}) || cfg.Avatar.RenditionQuality != 85 {
			t.Fatalf("defaults: public_url %q, renditions %v, quality %d", cfg.HTTP.PublicURL, cfg.Avatar.Renditions, cfg.Avatar.RenditionQuality)
		}
	})
	t.Run("a list replaces the default", func(t *testing.T) {
		cfg, err := parse(t, "renditions = [1024, 256]\nrendition_quality = 70", `public_url = "https://xmpp.example.org/mms/"`)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(cfg.Avatar.Renditions, []int{1024, 256}) || cfg.Avatar.RenditionQuality != 70 {
			t.Fatalf("renditions %v, quality %d", cfg.Avatar.Renditions, cfg.Avatar.RenditionQuality)
		}
	})
	t.Run("unchecked while off", func(t *testing.T) {
		// A large avatar with the default renditions is fine while no
		// public_url asks for them.
		raw := strings.Replace(contractKeys, "size   = 128", "size   = 1024", 1)
		if _, err := Parse([]byte(raw), "test.toml"); err != nil {
			t.Fatal(err)
		}
	})

	bad := []struct {
		name, avatar, http, want string
	}{
		{"relative url", "", `public_url = "/mms"`, "http.public_url"},
		{"no scheme", "", `public_url = "xmpp.example.org/mms"`, "http.public_url"},
		{"other scheme", "", `public_url = "ftp://xmpp.example.org/mms"`, "http.public_url"},
		{"no host", "", `public_url = "https:///mms"`, "no host"},
		{"query", "", `public_url = "https://xmpp.example.org/mms?x=1"`, "query or fragment"},
		{"empty query", "", `public_url = "https://xmpp.example.org/mms?"`, "query or fragment"},
		{"fragment", "", `public_url = "https://xmpp.example.org/mms#top"`, "query or fragment"},
		{"credentials", "", `public_url = "https://u:p@xmpp.example.org/mms"`, "credentials"},
		{"not over size", "renditions = [128]", `public_url = "https://xmpp.example.org"`, "avatar.renditions: 128"},
		{"too large", "renditions = [4096]", `public_url = "https://xmpp.example.org"`, "avatar.renditions: 4096"},
		{"twice", "renditions = [512, 512]", `public_url = "https://xmpp.example.org"`, "listed twice"},
		{"quality 0", "rendition_quality = 0", "", "avatar.rendition_quality 0"},
		{"quality 101", "rendition_quality = 101", "", "avatar.rendition_quality 101"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := parse(t, tc.avatar, tc.http)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v, want it to contain %q", err, tc.want)
			}
		})
	}
	t.Run("public url needs the listener", func(t *testing.T) {
		raw := strings.Replace(contractKeys, `listen = "127.0.0.1:9090"`, "listen = \"\"\npublic_url = \"https://xmpp.example.org\"", 1)
		_, err := Parse([]byte(raw), "test.toml")
		if err == nil || !strings.Contains(err.Error(), "http.listen") {
			t.Fatalf("error %v, want one naming http.listen", err)
		}
	})
}

// The hostile-peer limits have defaults and refuse values that would turn
// a defence off.
func TestPeerLimits(t *testing.T) {
	cfg, err := Parse([]byte(contractKeys), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if l := cfg.Limits; l.HTTPHeaderTimeout <= 0 || l.HTTPMaxConns < 1 || l.HTTPMaxHeaderBytes < 4096 || cfg.Email.MaxRecipients < 1 || cfg.Email.ReadTimeout <= 0 {
		t.Fatalf("defaults %+v %+v", cfg.Limits, cfg.Email)
	}
	for _, tc := range []struct{ keys, want string }{
		{"[limits]\nhttp_max_conns = 0\n", "limits.http_max_conns"},
		{"[limits]\nhttp_header_timeout = \"20s\"\nhttp_read_timeout = \"5s\"\n", "http_read_timeout >= http_header_timeout"},
		{"[limits]\nhttp_max_header_bytes = 100\n", "limits.http_max_header_bytes"},
	} {
		if _, err := Parse([]byte(contractKeys+"\n"+tc.keys), "test.toml"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.keys, err, tc.want)
		}
	}
	raw := strings.Replace(contractKeys, `listen   = "127.0.0.1:2525"`, "listen   = \"127.0.0.1:2525\"\nmax_recipients = 0", 1)
	if _, err := Parse([]byte(raw), "test.toml"); err == nil || !strings.Contains(err.Error(), "email.max_recipients") {
		t.Errorf("max_recipients = 0: error %v", err)
	}
}

func TestWebhookSections(t *testing.T) {
	cfg, err := Parse([]byte(contractKeys), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Webhook.Enabled || cfg.Webhook.Twilio.Enabled {
		t.Fatal("webhook on without its section")
	}
	raw := contractKeys + `
[webhook]
listen = "127.0.0.1:8081"
[webhook.twilio]
account_sid = "AC123"
auth_token = "tok"
url = "https://mms.example.org/twilio"
`
	cfg, err = Parse([]byte(raw), "test.toml")
	if err != nil {
		t.Fatal(err)
	}
	if !cfg.Webhook.Twilio.Enabled || cfg.Webhook.Telnyx.Enabled || cfg.Webhook.Twilio.Path != "/twilio" || cfg.Webhook.Twilio.APIURL != "https://api.twilio.com" {
		t.Fatalf("twilio section: %+v", cfg.Webhook)
	}
	_, err = Parse([]byte(contractKeys+"\n[webhook]\n[webhook.telnyx]\npublic_key = \"bad\"\n"), "test.toml")
	if err == nil || !strings.Contains(err.Error(), "webhook.telnyx.public_key") || !strings.Contains(err.Error(), "webhook.telnyx.api_key") {
		t.Fatalf("bad telnyx: %v", err)
	}
	_, err = Parse([]byte(contractKeys+"\n[webhook]\n"), "test.toml")
	if err == nil || !strings.Contains(err.Error(), "no provider") {
		t.Fatalf("no provider: %v", err)
	}
}
