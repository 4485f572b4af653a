package app

import (
	"context"
	"fmt"

	"mmsprofile/config"
	"mmsprofile/storage"
	"mmsprofile/storage/postgres"
	"mmsprofile/storage/sqlite"
)

// OpenStore opens (and migrates) the configured database.
func OpenStore(ctx context.Context, cfg config.Storage) (storage.Store, error) {
	switch cfg.Driver {
	case "sqlite":
		s, err := sqlite.Open(ctx, cfg.DSN)
		if err != nil {
			return nil, err
		}
		return s, nil
	case "postgres":
		s, err := postgres.Open(ctx, cfg.DSN, postgres.Options{
			MaxConns:         cfg.MaxConns,
			ConnectTimeout:   cfg.ConnectTimeout,
			StatementTimeout: cfg.StatementTimeout,
		})
		if err != nil {
			return nil, err
		}
		return s, nil
	default:
		return nil, fmt.Errorf("server: storage driver %q: use sqlite or postgres", cfg.Driver)
	}
}
