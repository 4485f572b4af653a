// Package mm7 is the VASP side of 3GPP MM7 (TS 23.140, SOAP 1.1 over HTTP):
// it takes DeliverReq, DeliveryReportReq and ReadReplyReq from an MMSC and answers them.
package mm7
