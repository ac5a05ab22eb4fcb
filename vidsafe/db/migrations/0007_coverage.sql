-- Coverage: each chunk of frames records what it was to analyse and what it could not decode, and a job
-- records the whole when it ends, with the warnings of a job that succeeded with less than it was asked.
ALTER TABLE job_parts
    ADD COLUMN frames_expected integer NOT NULL DEFAULT 0,
    ADD COLUMN undecodable     jsonb NOT NULL DEFAULT '[]',
    ADD COLUMN packets_skipped integer NOT NULL DEFAULT 0;
ALTER TABLE jobs
    ADD COLUMN coverage jsonb,
    ADD COLUMN warnings jsonb NOT NULL DEFAULT '[]';
