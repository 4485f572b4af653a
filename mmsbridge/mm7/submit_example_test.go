package mm7_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"

	"mmsprofile/mmsbridge/mm7"
)

func ExampleSubmitter_Submit() {
	// A stand-in MMSC that takes every SubmitReq.
	mmsc := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		_, _ = io.WriteString(w, `<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>
<SubmitRsp xmlns="http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4">
<MM7Version>6.8.0</MM7Version><Status><StatusCode>1000</StatusCode><StatusText>Success</StatusText></Status>
<MessageID>041502073667</MessageID></SubmitRsp></env:Body></env:Envelope>`)
	}))
	defer mmsc.Close()

	s, err := mm7.NewSubmitter(mm7.SubmitConfig{
		URL:           mmsc.URL + "/mm7",
		Username:      "vasp",
		Password:      "secret",
		VASPID:        "mmsprofile",
		VASID:         "avatar",
		SenderAddress: "24273", // our short code
	}, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	res, err := s.Submit(context.Background(), mm7.Submission{
		To:       "+12025550143",
		Subject:  "Link code",
		Text:     "Send LINK 4821 from this phone to link it to alice@example.org.",
		LinkedID: "LNK-0001", // the DeliverReq's, when this answers an MMS
	})
	var se *mm7.SubmitError
	switch {
	case errors.As(err, &se) && se.Temporary:
		fmt.Println("try again later:", err)
	case err != nil:
		fmt.Println("refused:", err)
	default:
		fmt.Println(res.MessageID, res.Status, res.Attempts)
	}
	// Output: 041502073667 1000 1
}
