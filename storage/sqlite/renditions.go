package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"mmsprofile/storage"
)

// renditionsColumn lists, as JSON, the renditions of the avatar a.id of
// the surrounding query, without their data: read in the same statement,
// they agree with the avatar.
const renditionsColumn = `(SELECT json_group_array(json_object('id', r.id, 'type', r.type,
		'width', r.width, 'height', r.height, 'bytes', length(r.data)))
	FROM avatar_renditions ar JOIN renditions r ON r.id = ar.rendition_id
	WHERE ar.avatar_id = a.id)`

// decodeRenditions reads renditionsColumn, smallest first.
func decodeRenditions(raw sql.NullString) ([]storage.Rendition, error) {
	if !raw.Valid {
		return nil, nil
	}
	var rs []struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
		Bytes  int    `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(raw.String), &rs); err != nil {
		return nil, fmt.Errorf("renditions: %w", err)
	}
	if len(rs) == 0 {
		return nil, nil
	}
	out := make([]storage.Rendition, len(rs))
	for i, r := range rs {
		out[i] = storage.Rendition{ID: r.ID, Type: r.Type, Width: r.Width, Height: r.Height, Bytes: r.Bytes}
	}
	storage.SortRenditions(out)
	return out, nil
}

// putRenditions makes a's renditions the set it has, storing the ones not
// yet stored.
func putRenditions(ctx context.Context, tx *sql.Tx, a *storage.Avatar) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM avatar_renditions WHERE avatar_id = ?`, a.ID); err != nil {
		return err
	}
	for _, r := range a.Renditions {
		_, err := tx.ExecContext(ctx, `INSERT INTO renditions (id, type, width, height, data)
			VALUES (?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
			r.ID, r.Type, r.Width, r.Height, nonNil(r.Data))
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO avatar_renditions (avatar_id, rendition_id) VALUES (?, ?)`, a.ID, r.ID)
		if err != nil {
			return err
		}
	}
	return nil
}

// Rendition returns the rendition id with its data, or storage.ErrNotFound.
func (s *Store) Rendition(ctx context.Context, id string) (storage.Rendition, error) {
	var r storage.Rendition
	err := s.read.QueryRowContext(ctx, `SELECT id, type, width, height, data FROM renditions WHERE id = ?`, id).
		Scan(&r.ID, &r.Type, &r.Width, &r.Height, &r.Data)
	if err != nil {
		return storage.Rendition{}, fmt.Errorf("sqlite: rendition %s: %w", id, notFound(err))
	}
	r.Bytes = len(r.Data)
	return r, nil
}
