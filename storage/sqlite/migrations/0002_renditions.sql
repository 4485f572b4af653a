-- Larger copies of avatars (JPEG), served over HTTP by id and listed in
-- the avatar metadata by URL. Content-addressed, like avatars.
CREATE TABLE renditions (
	id     TEXT PRIMARY KEY,           -- SHA-1 hex of data
	type   TEXT NOT NULL,
	width  INTEGER NOT NULL,
	height INTEGER NOT NULL,
	data   BLOB NOT NULL
) STRICT;

-- The renditions of each avatar: the set its latest commit carried. They
-- go with their avatar (when Prune drops it), and a rendition no avatar
-- has any more goes at the next Prune.
CREATE TABLE avatar_renditions (
	avatar_id    TEXT NOT NULL REFERENCES avatars (id) ON DELETE CASCADE,
	rendition_id TEXT NOT NULL REFERENCES renditions (id),
	PRIMARY KEY (avatar_id, rendition_id)
) STRICT;
CREATE INDEX avatar_renditions_rendition ON avatar_renditions (rendition_id);
