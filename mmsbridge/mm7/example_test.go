package mm7_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"mmsprofile/mmsbridge"
	"mmsprofile/mmsbridge/mm7"
)

func ExampleParse() {
	const ns = "http://www.3gpp.org/ftp/Specs/archive/23_series/23.140/schema/REL-6-MM7-1-4"
	body := `<?xml version="1.0"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/">
 <env:Header><TransactionID xmlns="` + ns + `" env:mustUnderstand="1">tx-42</TransactionID></env:Header>
 <env:Body><DeliverReq xmlns="` + ns + `">
  <MM7Version>6.8.0</MM7Version>
  <Sender><Number>2025550143</Number></Sender>
  <Subject>hello</Subject>
 </DeliverReq></env:Body>
</env:Envelope>`
	req, err := mm7.Parse("text/xml", strings.NewReader(body), mm7.Limits{DefaultCountryCode: "1"})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(req.Kind, req.TransactionID, req.Message.Sender, req.Message.Key)
	// Output: DeliverReq tx-42 +12025550143 tx/tx-42
}

func ExampleNewHandler() {
	rcv := mmsbridge.ReceiverFunc(func(ctx context.Context, msg *mmsbridge.Message) error {
		if len(msg.Images()) == 0 {
			return mmsbridge.Refuse(mmsbridge.ReasonContent, "no picture in the MMS")
		}
		return nil // only once the message is committed
	})
	mux := http.NewServeMux()
	mux.Handle("POST /mm7", mm7.NewHandler(mm7.Config{
		Username:           "mmsc-relay",
		Password:           "secret",
		DefaultCountryCode: "1",
	}, rcv, slog.Default()))
	_ = mux
}
