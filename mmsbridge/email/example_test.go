package email_test

import (
	"fmt"
	"strings"

	"mmsprofile/mmsbridge/email"
)

func ExampleExtract() {
	raw := "From: 2025550143/TYPE=PLMN@mms.att.net\r\n" +
		"Subject: Multimedia message\r\n" +
		"Message-ID: <1@mms.att.net>\r\n" +
		"Content-Type: multipart/mixed; boundary=b\r\n\r\n" +
		"--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Disposition: attachment; filename=text_0.txt\r\n\r\n" +
		"Beach day\r\n" +
		"--b--\r\n"
	m, err := email.Extract(strings.NewReader(raw), email.Limits{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s %q %q\n", m.Sender, m.Subject, m.Text())
	// Output: +12025550143 "" "Beach day"
}
