// Package layers holds no code: its test checks that the project's imports
// follow the flow of docs/architecture.md (intakes know only the message
// type, the rules know storage but not the publisher, the XMPP side knows
// neither), so a backwards import fails `go test` rather than review; and
// that no package writes XML by hand (xmlbuild_test.go).
package layers
