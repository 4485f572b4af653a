-- Larger copies of avatars (JPEG), served over HTTP by id and listed in
-- the avatar metadata by URL. Content-addressed, like avatars.
CREATE TABLE renditions (
	id     text PRIMARY KEY,           -- SHA-1 hex of data
	type   text NOT NULL,
	width  integer NOT NULL,
	height integer NOT NULL,
	data   bytea NOT NULL
);
-- JPEG does not compress further: store it out of line as it is.
ALTER TABLE renditions ALTER COLUMN data SET STORAGE EXTERNAL;

-- The renditions of each avatar: the set its latest commit carried. They
-- go with their avatar (when Prune drops it), and a rendition no avatar
-- has any more goes at the next Prune.
CREATE TABLE avatar_renditions (
	avatar_id    text NOT NULL REFERENCES avatars (id) ON DELETE CASCADE,
	rendition_id text NOT NULL REFERENCES renditions (id),
	PRIMARY KEY (avatar_id, rendition_id)
);
CREATE INDEX avatar_renditions_rendition ON avatar_renditions (rendition_id);
