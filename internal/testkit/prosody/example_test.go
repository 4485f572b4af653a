package prosody_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"time"

	"mmsprofile/internal/testkit/prosody"
)

// A demo program starts a server the same way a test does, without
// *testing.T, and must Close it itself.
func ExampleStart() {
	if err := prosody.Installed(); err != nil {
		log.Fatal(err) // names the Debian packages to install
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := prosody.Start(ctx, prosody.Options{VCardModule: "vcard_legacy", Log: os.Stderr, LogLevel: "info"})
	if err != nil {
		log.Fatal(err)
	}
	defer s.Close()
	if err := s.Register(ctx, "alice", "secret"); err != nil {
		log.Fatal(err)
	}
	fmt.Printf("[xmpp]\ncomponent = %q\nserver = %q\nsecret = %q\ndomains = [%q]\n",
		s.Component, s.ComponentAddr, s.Secret, s.Domain)
	fmt.Println("clients connect to", s.C2SAddr)
}
