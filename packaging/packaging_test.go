package packaging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"go.yaml.in/yaml/v3"

	"mmsprofile/internal/testkit/promtool"
	"mmsprofile/metrics"
	"mmsprofile/storage"
)

const (
	dashboardFile  = "grafana/mmsprofile.json"
	alertsFile     = "prometheus/alerts.yml"
	alertTestsFile = "prometheus/alerts_test.yml"
)

// run runs promtool in dir with stdin and fails t with its output when it
// does not exit 0.
func run(t *testing.T, dir string, stdin io.Reader, args ...string) string {
	t.Helper()
	return promtool.Run(t, dir, stdin, args...)
}

func TestAlertRules(t *testing.T) {
	t.Log(run(t, ".", nil, "check", "rules", alertsFile))
	// Relative to the test file, as its rule_files are.
	t.Log(run(t, filepath.Dir(alertTestsFile), nil, "test", "rules", filepath.Base(alertTestsFile)))
}

// TestDashboardQueriesParse hands every dashboard query to promtool as a
// recording rule, Grafana's variables replaced by what they expand to, so
// that a query Prometheus would refuse fails here and not on a wall screen.
func TestDashboardQueriesParse(t *testing.T) {
	promtool.Path(t)
	exprs := dashboardExprs(t)
	expand := strings.NewReplacer("$__rate_interval", "5m", "$__interval", "1m", "$instance", ".*")
	type rule struct {
		Record string `yaml:"record"`
		Expr   string `yaml:"expr"`
	}
	var rules []rule
	for i, e := range exprs {
		if strings.HasPrefix(e, "label_values(") {
			continue // a Grafana function, not PromQL
		}
		rules = append(rules, rule{Record: fmt.Sprintf("dashboard:query_%d", i), Expr: expand.Replace(e)})
	}
	if len(rules) == 0 {
		t.Fatalf("%s: no queries found", dashboardFile)
	}
	b, err := yaml.Marshal(map[string]any{"groups": []any{map[string]any{"name": "dashboard", "rules": rules}}})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "dashboard-rules.yml")
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, ".", nil, "check", "rules", path)
}

// TestScrapeLints scrapes /metrics as the ops listener serves it, with
// every series present, and has promtool check the exposition.
func TestScrapeLints(t *testing.T) {
	promtool.Path(t)
	m := busyMetrics(t)
	mux := http.NewServeMux()
	mux.Handle("/metrics", m.Handler())
	srv := httptest.NewServer(mux)
	defer srv.Close()
	resp, err := http.Get(srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read /metrics: %v", err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: HTTP %d\n%s", resp.StatusCode, body)
	}
	// The check below is only worth something if every series is in the
	// scrape: a series added without an observation here fails.
	lines := append([]byte("\n"), body...)
	for _, name := range exportedNames(t, m) {
		if !bytes.Contains(lines, []byte("\n# TYPE "+name+" ")) {
			t.Errorf("the scrape lacks %s: give it an observation in busyMetrics", name)
		}
	}
	promtool.CheckMetrics(t, body)
}

// busyMetrics returns metrics in which every vector has a child.
func busyMetrics(t *testing.T) *metrics.Metrics {
	t.Helper()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	m := metrics.New(metrics.Options{
		Version: "test",
		Now:     func() time.Time { return now },
		Outbox: func(context.Context) (storage.OutboxStats, error) {
			return storage.OutboxStats{Pending: 2, Failed: 1, Oldest: now.Add(-time.Minute)}, nil
		},
	})
	m.Received("mm7")
	m.MMS("mm7", metrics.OutcomeAccepted, "")
	m.RateLimited("updates")
	m.Published(metrics.Publish{Kind: storage.KindAvatar, Final: true, Elapsed: 20 * time.Millisecond,
		Committed: now.Add(-time.Second), Received: now.Add(-2 * time.Second)})
	m.ImageProcessed("JPEG", 80*time.Millisecond, nil)
	m.ComponentUp(true)
	m.Leading(true)
	m.InFlight(1)
	m.Shed("email")
	m.WebhookRefused("twilio", "signature")
	m.RenditionRequest(metrics.RenditionServed)
	m.PrivilegedIQFailed("example.org", "timeout")
	m.MM7Refused("auth")
	m.ComponentHandshakeFailed("not_authorized")
	return m
}

var descParts = regexp.MustCompile(`^Desc\{fqName: "([^"]+)", .*variableLabels: \{([^}]*)\}\}$`)

// exported maps each mmsprofile_ series the registry describes, whether or
// not it has children, to its label names.
func exported(t *testing.T, m *metrics.Metrics) map[string][]string {
	t.Helper()
	ch := make(chan *prometheus.Desc)
	go func() { m.Registry().Describe(ch); close(ch) }()
	series := map[string][]string{}
	for d := range ch {
		sm := descParts.FindStringSubmatch(d.String())
		if sm == nil {
			t.Fatalf("cannot read the name and labels of %s", d)
		}
		if !strings.HasPrefix(sm[1], "mmsprofile_") {
			continue
		}
		var labels []string
		if sm[2] != "" {
			labels = strings.Split(sm[2], ",")
		}
		series[sm[1]] = labels
	}
	return series
}

func exportedNames(t *testing.T, m *metrics.Metrics) []string {
	t.Helper()
	names := slices.Collect(maps.Keys(exported(t, m)))
	slices.Sort(names)
	return names
}

var (
	metricName = regexp.MustCompile(`mmsprofile_[a-z0-9_]+`)
	selector   = regexp.MustCompile(`(mmsprofile_[a-z0-9_]+)\{([^}]*)\}`)
	matcher    = regexp.MustCompile(`([a-zA-Z_][a-zA-Z0-9_]*)\s*(?:=~|!~|!=|=)`)
	grouping   = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)`)
)

// Labels every series has once scraped, or that histogram_quantile reads.
var targetLabels = []string{"instance", "job", "le"}

// TestPackagingUsesExportedMetrics fails when the dashboard or an alert
// reads a series the binary does not export, such as one renamed since,
// or a label that none of the series in its query has.
func TestPackagingUsesExportedMetrics(t *testing.T) {
	series := exported(t, metrics.New(metrics.Options{Outbox: func(context.Context) (storage.OutboxStats, error) {
		return storage.OutboxStats{}, nil
	}}))
	if len(series) == 0 {
		t.Fatal("the registry describes no mmsprofile_ series")
	}
	// lookup strips a histogram's suffixes to find the series it belongs to.
	lookup := func(name string) ([]string, bool) {
		if labels, ok := series[name]; ok {
			return labels, true
		}
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			if base, ok := strings.CutSuffix(name, suffix); ok {
				if labels, ok := series[base]; ok {
					return labels, true
				}
			}
		}
		return nil, false
	}
	for file, exprs := range map[string][]string{dashboardFile: dashboardExprs(t), alertsFile: alertExprs(t)} {
		used := 0
		for _, e := range exprs {
			inQuery := slices.Clone(targetLabels)
			for _, name := range metricName.FindAllString(e, -1) {
				used++
				labels, ok := lookup(name)
				if !ok {
					t.Errorf("%s uses %s, which the binary does not export, in %s", file, name, e)
				}
				inQuery = append(inQuery, labels...)
			}
			for _, sel := range selector.FindAllStringSubmatch(e, -1) {
				labels, _ := lookup(sel[1])
				for _, m := range matcher.FindAllStringSubmatch(sel[2], -1) {
					if !slices.Contains(labels, m[1]) && !slices.Contains(targetLabels, m[1]) {
						t.Errorf("%s matches label %q, which %s does not have, in %s", file, m[1], sel[1], e)
					}
				}
			}
			for _, g := range grouping.FindAllStringSubmatch(e, -1) {
				for _, l := range strings.Split(g[1], ",") {
					if l = strings.TrimSpace(l); l != "" && !slices.Contains(inQuery, l) {
						t.Errorf("%s groups by label %q, which no series in the query has, in %s", file, l, e)
					}
				}
			}
		}
		if used == 0 {
			t.Errorf("%s: no mmsprofile_ series found in its queries", file)
		}
	}
}

// dashboardExprs returns every query in the dashboard: panel targets'
// expr and the template variables' queries.
func dashboardExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(dashboardFile)
	if err != nil {
		t.Fatal(err)
	}
	var dash struct {
		SchemaVersion int `json:"schemaVersion"`
		Templating    struct {
			List []struct {
				Name  string `json:"name"`
				Type  string `json:"type"`
				Query any    `json:"query"`
			} `json:"list"`
		} `json:"templating"`
	}
	if err := json.Unmarshal(b, &dash); err != nil {
		t.Fatalf("%s: %v", dashboardFile, err)
	}
	if dash.SchemaVersion < 36 {
		t.Errorf("%s: schemaVersion %d, want a current one (39)", dashboardFile, dash.SchemaVersion)
	}
	vars := map[string]string{}
	for _, v := range dash.Templating.List {
		vars[v.Name] = v.Type
	}
	if vars["datasource"] != "datasource" || vars["instance"] != "query" {
		t.Errorf("%s: template variables %v, want datasource (datasource) and instance (query)", dashboardFile, vars)
	}
	var doc any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	var exprs []string
	var walk func(key string, v any)
	walk = func(key string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, c := range v {
				walk(k, c)
			}
		case []any:
			for _, c := range v {
				walk(key, c)
			}
		case string:
			if key == "expr" || key == "query" || key == "definition" {
				exprs = append(exprs, v)
			}
		}
	}
	walk("", doc)
	slices.Sort(exprs)
	return slices.Compact(exprs)
}

// alertExprs returns the expression of every rule in alerts.yml.
func alertExprs(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(alertsFile)
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	if err := yaml.Unmarshal(b, &file); err != nil {
		t.Fatalf("%s: %v", alertsFile, err)
	}
	var exprs []string
	for _, g := range file.Groups {
		for _, r := range g.Rules {
			if r.Expr == "" {
				t.Errorf("%s: rule %q has no expr", alertsFile, r.Alert)
			}
			exprs = append(exprs, r.Expr)
		}
	}
	return exprs
}
