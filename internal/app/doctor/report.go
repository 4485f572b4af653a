package doctor

import (
	"fmt"
	"io"
	"strings"
)

// report prints findings as they come, so a slow probe shows where it is.
type report struct {
	w      io.Writer
	failed bool
}

func (r *report) section(title string) {
	fmt.Fprintf(r.w, "\n%s\n", title)
}

func (r *report) ok(format string, args ...any) {
	r.line("ok  ", fmt.Sprintf(format, args...), "")
}

func (r *report) info(msg, fix string) { r.line("note", msg, fix) }

// warn is something to look at that does not stop the service.
func (r *report) warn(msg, fix string) { r.line("warn", msg, fix) }

// fail is something that stops the service or loses MMS.
func (r *report) fail(msg, fix string) {
	r.failed = true
	r.line("FAIL", msg, fix)
}

func (r *report) line(tag, msg, fix string) {
	// Errors from drivers can span lines (pgx lists every address it
	// tried): keep them inside this finding's indentation.
	msg = strings.ReplaceAll(strings.TrimSpace(msg), "\n", "\n        ")
	msg = strings.ReplaceAll(msg, "\t", "")
	fmt.Fprintf(r.w, "  %s  %s\n", tag, msg)
	if fix == "" {
		return
	}
	lines := strings.Split(strings.TrimRight(fix, "\n"), "\n")
	fmt.Fprintf(r.w, "        fix: %s\n", lines[0])
	for _, l := range lines[1:] {
		if l == "" {
			fmt.Fprintln(r.w)
			continue
		}
		fmt.Fprintf(r.w, "             %s\n", l)
	}
}
