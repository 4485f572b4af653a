package profile

import (
	"regexp"
	"strings"
)

// command is what a phone asked for in an MMS.
type command int

const (
	cmdNone command = iota
	cmdLink
	cmdStop
	cmdHelp
	cmdStart
)

// A command stands alone in the subject or the text: "LINK 123456",
// "link 123 456", "Stop", " HELP ". Anything longer is a status line.
var (
	linkRe = regexp.MustCompile(`(?i)^\s*link\s*[:#]?\s*([0-9][0-9 \-]{4,14}[0-9])\s*[.!]?\s*$`)
	wordRe = regexp.MustCompile(`(?i)^\s*(stop|unlink|help|info|start)\s*[.!]?\s*$`)
)

// parseCommand looks at the subject, then the text. code holds the digits
// of a LINK command.
func parseCommand(subject, text string) (cmd command, code string) {
	for _, s := range []string{subject, text} {
		if m := linkRe.FindStringSubmatch(s); m != nil {
			return cmdLink, strings.Map(func(r rune) rune {
				if r >= '0' && r <= '9' {
					return r
				}
				return -1
			}, m[1])
		}
		if m := wordRe.FindStringSubmatch(s); m != nil {
			switch strings.ToLower(m[1]) {
			case "stop", "unlink":
				return cmdStop, ""
			case "help", "info":
				return cmdHelp, ""
			case "start":
				return cmdStart, ""
			}
		}
	}
	return cmdNone, ""
}
