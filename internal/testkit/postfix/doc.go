// Package postfix starts a throwaway Debian Postfix on a loopback port in a
// temporary directory, relaying chosen domains over LMTP, for integration tests.
package postfix
