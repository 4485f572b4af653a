package layers

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"sort"
	"strings"
	"testing"
)

const module = "mmsprofile/"

// layerOf places each package of the module; the longest matching prefix
// wins. A new package must be placed here, or the test fails: where it
// sits is a design decision, not an accident of what it imported first.
var layerOf = map[string]string{
	"cmd/":              "wiring",
	"internal/app":      "wiring",
	"internal/redact":   "leaf",
	"metrics":           "wiring",
	"mmsbridge/mm7":     "intake",
	"mmsbridge/email":   "intake",
	"mmsbridge/webhook": "intake",
	"mmsbridge":         "message",
	"commands":          "commands",
	"profile":           "rules",
	"avatar":            "avatar",
	"storage":           "store",
	"outbox":            "store",
	"storage/storetest": "harness",
	"publisher":         "publisher",
	"xmpp":              "xmpp",
	"config":            "leaf",
	"vcard":             "leaf",
	"internal/charset":  "leaf",
	"internal/lenient":  "leaf",
	"internal/backoff":  "leaf",
	"internal/layers":   "leaf",
	"packaging":         "harness",
	"internal/testkit":  "harness",
	"internal/demo":     "harness",
}

// mayImport says which layers a layer's non-test code may import besides
// its own. Wiring sees everything it assembles; an intake hands a message
// to a Receiver and knows nothing of the rules; the rules commit to
// storage and never publish; the publisher reads storage and writes
// through the XMPP side, which knows nothing of storage.
var mayImport = map[string][]string{
	"wiring":    {"intake", "message", "commands", "rules", "avatar", "store", "publisher", "xmpp", "leaf"},
	"intake":    {"message", "leaf"},
	"message":   {"leaf"},
	"commands":  {"rules", "store", "xmpp", "leaf"},
	"rules":     {"message", "avatar", "store", "leaf"},
	"avatar":    {"leaf"},
	"store":     {"leaf"},
	"publisher": {"store", "xmpp", "leaf"},
	"xmpp":      {"leaf"},
	"leaf":      {},
	"harness":   {"wiring", "intake", "message", "commands", "rules", "avatar", "store", "publisher", "xmpp", "leaf", "harness"},
}

func layer(pkg string) (string, bool) {
	best, name := -1, ""
	for prefix, l := range layerOf {
		if (pkg == prefix || strings.HasPrefix(pkg, strings.TrimSuffix(prefix, "/")+"/")) && len(prefix) > best {
			best, name = len(prefix), l
		}
	}
	return name, best >= 0
}

// violations lists every import in graph (package → its imports, both
// without the module prefix) that breaks the layering.
func violations(graph map[string][]string) []string {
	var bad []string
	for pkg, imports := range graph {
		from, ok := layer(pkg)
		if !ok {
			bad = append(bad, fmt.Sprintf("%s: not placed in a layer (add it to layerOf)", pkg))
			continue
		}
		for _, imp := range imports {
			to, ok := layer(imp)
			if !ok {
				continue // reported as a package of its own
			}
			if to == from || contains(mayImport[from], to) {
				continue
			}
			bad = append(bad, fmt.Sprintf("%s (%s) imports %s (%s)", pkg, from, imp, to))
		}
	}
	sort.Strings(bad)
	return bad
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestImportsFollowTheFlow(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}{{range .Imports}} {{.}}{{end}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	graph := map[string][]string{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		pkg := strings.TrimPrefix(f[0], module)
		graph[pkg] = nil
		for _, imp := range f[1:] {
			if strings.HasPrefix(imp, module) {
				graph[pkg] = append(graph[pkg], strings.TrimPrefix(imp, module))
			}
		}
	}
	if len(graph) < 20 {
		t.Fatalf("go list found only %d packages: %s", len(graph), out)
	}
	for _, v := range violations(graph) {
		t.Error(v)
	}
}

// The check itself fails on the imports it exists to stop.
func TestViolationsCatchesBackwardsImports(t *testing.T) {
	for _, c := range []struct{ from, to string }{
		{"xmpp/pep", "outbox"},           // the XMPP side reading storage's payloads
		{"mmsbridge/mm7", "profile"},     // an intake calling the rules directly
		{"profile", "publisher"},         // the rules publishing
		{"avatar", "storage"},            // image code knowing storage
		{"publisher", "mmsbridge/email"}, // the publisher knowing an intake
		{"storage/sqlite", "internal/testkit/prosody"},
	} {
		if v := violations(map[string][]string{c.from: {c.to}}); len(v) != 1 {
			t.Errorf("%s → %s: %v, want one violation", c.from, c.to, v)
		}
	}
	if v := violations(map[string][]string{"profile": {"storage", "avatar", "mmsbridge"}, "storage/sqlite": {"storage"}}); len(v) != 0 {
		t.Errorf("allowed imports reported: %v", v)
	}
	if v := violations(map[string][]string{"newthing": nil}); len(v) != 1 {
		t.Errorf("an unplaced package: %v", v)
	}
}
