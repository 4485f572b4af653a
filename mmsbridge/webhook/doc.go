// Package webhook takes MMS from HTTP aggregators (Twilio, Telnyx,
// Bandwidth): it checks each provider's signature, fetches the media
// safely and hands an mmsbridge.Message on; replies go out by REST.
package webhook
