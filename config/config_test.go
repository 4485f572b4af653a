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
	}
	repl := map[string]string{
		"missing component": "",
		"bad driver":        `driver = "mysql"`,
		"unknown key":       "size = 128\ncolour = \"red\"",
		"bad size":          "size = 4",
		"bad listen":        `listen = "nope"`,
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
			if key == "" {
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
