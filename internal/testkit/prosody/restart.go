package prosody

import (
	"context"
	"errors"
	"fmt"
)

// Stop stops prosody as an outage would (SIGTERM, then SIGKILL after a
// grace period), disconnecting every client and component, but keeps Dir:
// its config, accounts, rosters and PEP data. Restart brings the same
// server back on the same ports. Close is still needed afterwards.
func (s *Server) Stop() error {
	if s.proc == nil {
		return errors.New("prosody: stop: not running")
	}
	err := s.stop()
	s.proc = nil
	if err != nil {
		return fmt.Errorf("prosody: stop: %w", err)
	}
	return nil
}

// Restart starts a server that Stop stopped, with the same config, data
// and ports, and returns once both ports accept connections. Another
// process could take a port while the server is down, which on a test
// machine is rare enough; Restart then fails.
func (s *Server) Restart(ctx context.Context) error {
	if s.proc != nil {
		return errors.New("prosody: restart: still running; Stop it first")
	}
	if s.Dir == "" {
		return errors.New("prosody: restart: closed")
	}
	if err := s.launch(ctx); err != nil {
		// Leave nothing running: Close then only removes Dir.
		if s.proc != nil {
			_ = s.stop()
			s.proc = nil
		}
		return fmt.Errorf("prosody: restart: %w", err)
	}
	return nil
}
