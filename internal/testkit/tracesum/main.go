// Command tracesum turns a runtime/trace file into the breakdown of one
// MMS: for every task and region the product opens (mm7, avatar.*,
// profile.commit, publish.*, xmpp.iq-*), how long it took and when it
// began relative to the benchmark's "e2e" task that encloses it, as the
// median over all messages. Gaps between the rows are time no region
// claims: scheduling, the wake, the network and the server.
//
//	go test -run '^$' -bench MM7ToPEPEvent -benchtime 200x -trace t.out ./internal/app/
//	go run ./internal/testkit/tracesum t.out
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

func main() {
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: tracesum TRACE-FILE")
		flag.PrintDefaults()
	}
	flag.Parse()
	if flag.NArg() != 1 {
		flag.Usage()
		os.Exit(2)
	}
	cmd := exec.Command("go", "tool", "trace", "-d=parsed", flag.Arg(0))
	out, err := cmd.StdoutPipe()
	if err != nil {
		fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		fatal(err)
	}
	spans, err := parse(out)
	if err != nil {
		fatal(err)
	}
	if err := cmd.Wait(); err != nil {
		fatal(fmt.Errorf("go tool trace: %w", err))
	}
	report(os.Stdout, spans)
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "tracesum:", err)
	os.Exit(1)
}

// span is one task or region: its kind ("task" or "region"), name and
// interval in the trace's nanoseconds.
type span struct {
	kind, name string
	begin, end int64
}

// parse reads `go tool trace -d=parsed` lines. Regions pair up per
// goroutine and name (they nest, never interleave, on one goroutine);
// tasks pair by ID.
func parse(r io.Reader) ([]span, error) {
	type key struct{ g, name string }
	open := map[key][]int64{}
	tasks := map[string]span{}
	var spans []span
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		f := fields(sc.Text())
		ev := f["event"]
		if ev != "RegionBegin" && ev != "RegionEnd" && ev != "TaskBegin" && ev != "TaskEnd" {
			continue
		}
		t, err := strconv.ParseInt(f["Time"], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("tracesum: time in %q: %w", sc.Text(), err)
		}
		name := strings.Trim(f["Type"], `"`)
		switch ev {
		case "RegionBegin":
			k := key{f["G"], name}
			open[k] = append(open[k], t)
		case "RegionEnd":
			k := key{f["G"], name}
			if n := len(open[k]); n > 0 {
				spans = append(spans, span{"region", name, open[k][n-1], t})
				open[k] = open[k][:n-1]
			}
		case "TaskBegin":
			tasks[f["ID"]] = span{"task", name, t, 0}
		case "TaskEnd":
			if s, ok := tasks[f["ID"]]; ok {
				s.end = t
				spans = append(spans, s)
				delete(tasks, f["ID"])
			}
		}
	}
	return spans, sc.Err()
}

// fields splits "M=1 P=0 G=7 RegionBegin Time=… Task=1 Type="parse"": the
// bare word is the event.
func fields(line string) map[string]string {
	m := map[string]string{}
	for _, w := range strings.Fields(line) {
		if k, v, ok := strings.Cut(w, "="); ok {
			if _, seen := m[k]; !seen {
				m[k] = v
			}
		} else if m["event"] == "" {
			m["event"] = w
		}
	}
	// A quoted Type may hold spaces ("xmpp.iq-set urn:…"): take it whole.
	if i := strings.Index(line, `Type="`); i >= 0 {
		rest := line[i+len(`Type="`):]
		if j := strings.IndexByte(rest, '"'); j >= 0 {
			m["Type"] = rest[:j]
		}
	}
	return m
}

// report prints, per name, the count, the median and 90th percentile of
// the duration and the median start after the enclosing e2e task began.
func report(w io.Writer, spans []span) {
	var e2e []span
	for _, s := range spans {
		if s.kind == "task" && s.name == "e2e" {
			e2e = append(e2e, s)
		}
	}
	sort.Slice(e2e, func(i, j int) bool { return e2e[i].begin < e2e[j].begin })
	type stat struct {
		kind   string
		dur    []int64
		offset []int64
	}
	stats := map[string]*stat{}
	for _, s := range spans {
		if s.name == "e2e" {
			continue
		}
		st := stats[s.name]
		if st == nil {
			st = &stat{kind: s.kind}
			stats[s.name] = st
		}
		st.dur = append(st.dur, s.end-s.begin)
		// The e2e interval that holds this span's start, if any.
		i := sort.Search(len(e2e), func(i int) bool { return e2e[i].begin > s.begin }) - 1
		if i >= 0 && s.begin <= e2e[i].end {
			st.offset = append(st.offset, s.begin-e2e[i].begin)
		}
	}
	names := make([]string, 0, len(stats))
	for n := range stats {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool {
		a, b := median(stats[names[i]].offset), median(stats[names[j]].offset)
		if a != b {
			return a < b
		}
		return names[i] < names[j]
	})
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "name\tkind\tn\tstart p50\tdur p50\tdur p90\t")
	if len(e2e) > 0 {
		d := make([]int64, len(e2e))
		for i, s := range e2e {
			d[i] = s.end - s.begin
		}
		fmt.Fprintf(tw, "e2e\ttask\t%d\t0\t%s\t%s\t\n", len(e2e), ms(median(d)), ms(pct(d, 0.9)))
	}
	for _, n := range names {
		st := stats[n]
		start := "-"
		if len(st.offset) > 0 {
			start = ms(median(st.offset))
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%s\t%s\t%s\t\n", n, st.kind, len(st.dur), start, ms(median(st.dur)), ms(pct(st.dur, 0.9)))
	}
	tw.Flush()
}

func median(v []int64) int64 { return pct(v, 0.5) }

func pct(v []int64, p float64) int64 {
	if len(v) == 0 {
		return -1
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return s[int(p*float64(len(s)-1))]
}

func ms(ns int64) string {
	if ns < 0 {
		return "-"
	}
	return fmt.Sprintf("%.2fms", float64(time.Duration(ns))/float64(time.Millisecond))
}
