package main

import (
	"flag"
	"fmt"
	"io"
	"strings"

	"mmsprofile/mmsbridge/email"
	"mmsprofile/storage"
)

// command describes a sub-command for the usage text and the man page; the
// flags are the very definitions the sub-command parses with.
type command struct {
	name, args, summary string
	flags               func(*flag.FlagSet)
}

var commands = []command{
	{name: "serve", args: "-config FILE", summary: "run the service"},
	{name: "check-config", args: "-config FILE", summary: "validate the configuration file"},
	{name: "link", args: "-config FILE JID NUMBER", summary: "link a phone number to an XMPP account"},
	{name: "unlink", args: "-config FILE JID|NUMBER", summary: "remove the links of an account or number"},
	{name: "links", args: "-config FILE [-jid S] [-number S]", summary: "list the links",
		flags: linksFlags(new(storage.LinkFilter))},
	{name: "audit", args: "-config FILE [-n COUNT]", summary: "the latest link changes, newest first",
		flags: auditFlags(new(int))},
	{name: "migrate", args: "-config FILE", summary: "bring the database schema up to date"},
	{name: "doctor", args: "-config FILE", summary: "probe the XMPP server, privileges, database, listeners and reply paths; say what to fix"},
	{name: "ingest-email", args: "-config FILE [-from ADDR] [-to ADDR] [-client-ip IP] [-helo NAME]",
		summary: "take one mail on stdin (MTA pipe; sysexits codes)",
		flags:   ingestEmailFlags(new(email.Envelope), new(string), new(string))},
	{name: "version", summary: "print the version and build information"},
}

// usage is the text `mmsprofile help` prints.
var usage = func() string {
	var b strings.Builder
	b.WriteString("usage: mmsprofile COMMAND [flags]\n\ncommands:\n")
	for _, c := range commands {
		left := strings.TrimSpace(c.name + " " + c.args)
		if len(left) > 31 {
			fmt.Fprintf(&b, "  %s\n", left)
			left = ""
		}
		// Summaries wrap at 80 columns, under their own column.
		line := ""
		for _, word := range strings.Fields(c.summary) {
			if line != "" && 35+len(line)+1+len(word) > 80 {
				fmt.Fprintf(&b, "  %-32s %s\n", left, line)
				left, line = "", ""
			}
			line = strings.TrimSpace(line + " " + word)
		}
		fmt.Fprintf(&b, "  %-32s %s\n", left, line)
	}
	return b.String()
}()

// writeMan writes mmsprofile(8) in roff (man(7) macros).
func writeMan(w io.Writer) error {
	var b strings.Builder
	b.WriteString(`.TH MMSPROFILE 8 "" "mmsprofile ` + roff(version) + `" "System Administration"
.SH NAME
mmsprofile \- MMS to XMPP avatar and profile component
.SH SYNOPSIS
.B mmsprofile
.I command
.RI [ flags ]
.SH DESCRIPTION
.B mmsprofile
is an XMPP server component (XEP\-0114) that takes the MMS phone users send
(over MM7, e\-mail or an HTTP aggregator) and publishes their pictures and
text as the avatar and profile of the XMPP account linked to the number.
Its configuration is one TOML file, by default
.IR /etc/mmsprofile/config.toml ;
every key is documented in the example shipped in
.IR /usr/share/doc/mmsprofile .
.SH COMMANDS
`)
	for _, c := range commands {
		fmt.Fprintf(&b, ".TP\n.B \"%s\"\n%s\n", roff(strings.TrimSpace(c.name+" "+c.args)), roff(c.summary))
		fs, _ := newFlagSet(c.name, c.flags)
		var flags []*flag.Flag
		fs.VisitAll(func(f *flag.Flag) { flags = append(flags, f) })
		if c.args == "" {
			continue
		}
		b.WriteString(".RS\n")
		for _, f := range flags {
			name, u := flag.UnquoteUsage(f)
			fmt.Fprintf(&b, ".TP\n.BI \\-%s \" %s\"\n%s", roff(f.Name), roff(strings.ToUpper(name)), roff(u))
			if f.DefValue != "" && f.DefValue != "0" {
				fmt.Fprintf(&b, " (default %s)", roff(f.DefValue))
			}
			b.WriteString("\n")
		}
		b.WriteString(".RE\n")
	}
	b.WriteString(`.SH EXIT STATUS
0 on success, 1 on failure, 2 on a usage error;
.B ingest\-email
exits with
.BR sysexits (3)
codes, which a mail transfer agent understands.
.SH FILES
.TP
.I /etc/mmsprofile/config.toml
the configuration
.TP
.I /var/lib/mmsprofile
the state directory (the SQLite database)
.SH SEE ALSO
.BR systemctl (1),
.I /usr/share/doc/mmsprofile/operations.md
`)
	_, err := io.WriteString(w, b.String())
	return err
}

// roff escapes what man(7) would otherwise read as requests or escapes.
func roff(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	s = strings.ReplaceAll(s, "-", `\-`)
	s = strings.ReplaceAll(s, `"`, `\(dq`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

// writeBashCompletion writes a bash completion for the sub-commands and
// their flags, from the same definitions as the man page.
func writeBashCompletion(w io.Writer) error {
	var names []string
	var cases strings.Builder
	for _, c := range commands {
		names = append(names, c.name)
		fs, _ := newFlagSet(c.name, c.flags)
		var flags []string
		if c.args != "" {
			fs.VisitAll(func(f *flag.Flag) { flags = append(flags, "-"+f.Name) })
		}
		fmt.Fprintf(&cases, "\t%s) flags=%q ;;\n", c.name, strings.Join(flags, " "))
	}
	_, err := fmt.Fprintf(w, `# bash completion for mmsprofile, written by "mmsprofile completion".
_mmsprofile() {
	local cur=${COMP_WORDS[COMP_CWORD]} flags=
	if [ "$COMP_CWORD" -eq 1 ]; then
		COMPREPLY=($(compgen -W %q -- "$cur"))
		return
	fi
	if [ "${COMP_WORDS[COMP_CWORD-1]}" = -config ]; then
		COMPREPLY=($(compgen -f -- "$cur"))
		return
	fi
	case ${COMP_WORDS[1]} in
%s	esac
	COMPREPLY=($(compgen -W "$flags" -- "$cur"))
}
complete -o filenames -F _mmsprofile mmsprofile
`, strings.Join(names, " "), cases.String())
	return err
}
