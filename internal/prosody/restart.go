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
	if s.cmd == nil {
		return errors.New("prosody: stop: not running")
	}
	err := s.stop()
	s.cmd = nil
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
	if s.cmd != nil {
		return errors.New("prosody: restart: still running; Stop it first")
	}
	if s.Dir == "" {
		return errors.New("prosody: restart: closed")
	}
	s.exited = make(chan struct{})
	if err := s.launch(ctx); err != nil {
		// Leave nothing running: Close then only removes Dir.
		if s.cmd != nil {
			_ = s.stop()
			s.cmd = nil
		}
		return fmt.Errorf("prosody: restart: %w", err)
	}
	return nil
}
