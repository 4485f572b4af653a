package commands

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"mellium.im/xmpp/jid"

	"mmsprofile/profile"
)

const chatHelp = `Commands:
  link +12025550143 — link your phone (you get a code to send from it)
  unlink — unlink your phone
  status — what is linked, latest updates
  help — this text
Your client's "Commands" menu has the same, with forms.`

// HandleChat answers a chat message with the same commands as the forms,
// for clients without ad-hoc command support.
func (r *Responder) HandleChat(ctx context.Context, from jid.JID, body string) string {
	account := from.Bare().String()
	words := strings.Fields(body)
	if len(words) == 0 {
		return ""
	}
	var (
		answer string
		err    error
	)
	switch strings.ToLower(words[0]) {
	case "help", "?", "hi", "hello":
		return chatHelp
	case "link":
		if len(words) < 2 {
			return "Say \"link\" and your phone number, e.g. link +12025550143"
		}
		var in profile.Instructions
		in, err = r.accounts.RequestLink(ctx, account, strings.Join(words[1:], " "))
		answer = in.Text
	case "unlink", "stop":
		gone, uerr := r.accounts.Unlink(ctx, account)
		err = uerr
		if len(gone) == 0 {
			answer = "No phone was linked to this account."
		} else {
			var numbers []string
			for _, l := range gone {
				numbers = append(numbers, profile.FormatNumber(l.Number))
			}
			answer = "Unlinked " + strings.Join(numbers, ", ") + "."
		}
	case "status", "mylink":
		st, serr := r.accounts.MyLink(ctx, account)
		err = serr
		answer = chatStatus(st)
	default:
		return "I did not understand that.\n" + chatHelp
	}
	var ue *profile.UserError
	if errors.As(err, &ue) {
		return ue.Text
	}
	if err != nil {
		r.log.Error("chat command failed", "from", account, "err", err)
		return "Something went wrong on our side; please try again later."
	}
	return answer
}

func chatStatus(st profile.LinkState) string {
	var b strings.Builder
	if len(st.Links) == 0 {
		b.WriteString("No phone is linked to this account.")
	}
	for _, l := range st.Links {
		fmt.Fprintf(&b, "Linked: %s since %s.\n", profile.FormatNumber(l.Number), l.Created.UTC().Format("2 Jan 2006"))
	}
	if st.Pending != nil {
		fmt.Fprintf(&b, "\nWaiting for the code from %s.", profile.FormatNumber(st.Pending.Number))
	}
	for _, u := range st.Recent {
		fmt.Fprintf(&b, "\n%s: %s", u.Received.UTC().Format("2 Jan 15:04"), u.State)
		if u.Reason != "" {
			fmt.Fprintf(&b, " (%s)", u.Reason)
		}
	}
	return strings.TrimSpace(b.String())
}
