-- Whether contacts found from an MMS's address book are added to the
-- account's roster directly (XEP-0356 roster permission) instead of being
-- suggested. Off until the owner turns it on.
ALTER TABLE prefs ADD COLUMN roster boolean NOT NULL DEFAULT false;
