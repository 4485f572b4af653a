// Package webhooktest runs fake Twilio, Telnyx and Bandwidth APIs on
// loopback for tests: they post signed webhooks, serve media behind auth
// and record the replies sent through their REST APIs.
package webhooktest
