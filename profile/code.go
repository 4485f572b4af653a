package profile

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"math/big"
	"strings"
)

// newCode returns a code of n decimal digits, uniformly drawn.
func newCode(n int) (string, error) {
	var b strings.Builder
	for range n {
		d, err := rand.Int(rand.Reader, big.NewInt(10))
		if err != nil {
			return "", err
		}
		b.WriteByte(byte('0' + d.Int64()))
	}
	return b.String(), nil
}

// hashCode binds the code to the account and the number, so a stored hash
// is worth nothing for another pair.
func hashCode(jid, number, code string) []byte {
	h := sha256.Sum256([]byte("mmsprofile-link\x00" + jid + "\x00" + number + "\x00" + code))
	return h[:]
}

func codeMatches(stored []byte, jid, number, code string) bool {
	return subtle.ConstantTimeCompare(stored, hashCode(jid, number, code)) == 1
}
