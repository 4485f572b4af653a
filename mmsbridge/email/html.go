package email

import (
	"bytes"
	"strings"

	"golang.org/x/net/html"
)

// htmlToText renders HTML as the plain text a reader would see: no tags,
// comments, scripts, styles or title; entities decoded; block elements
// and <br> as line breaks; runs of blanks collapsed.
func htmlToText(b []byte) string {
	z := html.NewTokenizer(bytes.NewReader(b))
	var sb strings.Builder
	skip := 0 // depth inside script/style/title/head-only elements
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyText(sb.String())
		case html.TextToken:
			if skip == 0 {
				sb.Write(z.Text())
			}
		case html.StartTagToken, html.EndTagToken, html.SelfClosingTagToken:
			name, _ := z.TagName()
			switch string(name) {
			case "script", "style", "title", "head":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
			case "br", "p", "div", "tr", "li", "table", "h1", "h2", "h3", "h4", "h5", "h6", "pre", "center", "blockquote", "hr", "body":
				sb.WriteByte('\n')
			case "td", "th":
				sb.WriteByte(' ')
			}
		}
	}
}

// tidyText collapses blanks inside lines, trims every line and drops
// blank lines at either end, keeping at most one blank line in between.
func tidyText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.ReplaceAll(s, "\r", "\n")
	lines := strings.Split(s, "\n")
	out := make([]string, 0, len(lines))
	blank := false
	for _, l := range lines {
		l = strings.Join(strings.FieldsFunc(l, isBlank), " ")
		if l == "" {
			if len(out) > 0 && !blank {
				out = append(out, "")
			}
			blank = true
			continue
		}
		blank = false
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}

func isBlank(r rune) bool {
	return r == ' ' || r == '\t' || r == '\u00a0' || r == '\f' || r == '\v'
}
