package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"mmsprofile/storage"
)

// renditionsColumn lists, as JSON text, the renditions of the avatar a.id
// of the surrounding query, without their data (octet_length reads the
// stored size, not the bytes): read in the same statement, they agree with
// the avatar.
const renditionsColumn = `(SELECT json_agg(json_build_object('id', r.id, 'type', r.type,
		'width', r.width, 'height', r.height, 'bytes', octet_length(r.data)))::text
	FROM avatar_renditions ar JOIN renditions r ON r.id = ar.rendition_id
	WHERE ar.avatar_id = a.id)`

// decodeRenditions reads renditionsColumn (NULL when there are none),
// smallest first.
func decodeRenditions(raw *string) ([]storage.Rendition, error) {
	if raw == nil {
		return nil, nil
	}
	var rs []struct {
		ID     string `json:"id"`
		Type   string `json:"type"`
		Width  int    `json:"width"`
		Height int    `json:"height"`
		Bytes  int    `json:"bytes"`
	}
	if err := json.Unmarshal([]byte(*raw), &rs); err != nil {
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

// queueRenditions makes a's renditions the set it has, storing the ones
// not yet stored.
func queueRenditions(b *pgx.Batch, a *storage.Avatar) {
	b.Queue(`DELETE FROM avatar_renditions WHERE avatar_id = $1`, a.ID)
	for _, r := range a.Renditions {
		data := r.Data
		if data == nil {
			data = []byte{}
		}
		b.Queue(`INSERT INTO renditions (id, type, width, height, data)
			VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
			r.ID, r.Type, r.Width, r.Height, data)
		// Another commit of the same picture may have added it meanwhile.
		b.Queue(`INSERT INTO avatar_renditions (avatar_id, rendition_id) VALUES ($1, $2)
			ON CONFLICT DO NOTHING`, a.ID, r.ID)
	}
}

// Rendition returns the rendition id with its data, or storage.ErrNotFound.
func (s *Store) Rendition(ctx context.Context, id string) (storage.Rendition, error) {
	var r storage.Rendition
	err := s.pool.QueryRow(ctx, `SELECT id, type, width, height, data FROM renditions WHERE id = $1`, id).
		Scan(&r.ID, &r.Type, &r.Width, &r.Height, &r.Data)
	if err != nil {
		return storage.Rendition{}, fmt.Errorf("postgres: rendition %s: %w", id, notFound(err))
	}
	r.Bytes = len(r.Data)
	return r, nil
}
