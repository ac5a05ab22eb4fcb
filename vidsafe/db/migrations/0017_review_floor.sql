-- A reviewer's review of an item is done when they decide the whole video, or every segment its policy flags;
-- an item a rule gives two reviewers is decided when two keys are in reviewed_by_keys.
ALTER TABLE review_items ADD COLUMN reviewed_by_keys uuid[] NOT NULL DEFAULT '{}';
UPDATE review_items r SET reviewed_by_keys = array(
    SELECT DISTINCT d.api_key_id FROM decisions d
    WHERE d.job_id = r.job_id AND d.action <> 'escalate' AND d.api_key_id IS NOT NULL);
