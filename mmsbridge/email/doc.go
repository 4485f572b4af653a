// Package email takes MMS that arrive as e-mail (carrier MMS-to-e-mail gateways, LMTP, SMTP, an MTA pipe),
// authenticates the sender at our end, strips carrier decoration and hands an mmsbridge.Message to the profile.
package email
