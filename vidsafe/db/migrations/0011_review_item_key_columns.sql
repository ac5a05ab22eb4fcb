-- A review item's columns that hold API key ids say so: the API's claimed_by and assigned_to are key names.
ALTER TABLE review_items RENAME COLUMN claimed_by TO claimed_by_key;
ALTER TABLE review_items RENAME COLUMN assigned_to TO assigned_to_key;
ALTER TABLE review_items RENAME COLUMN skipped_by TO skipped_by_keys;
