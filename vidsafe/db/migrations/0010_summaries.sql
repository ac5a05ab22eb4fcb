-- A job's summary for its reviewer: the offline template's, or an LLM's (workers/summaries.py). The last good
-- summary stays while a new one is made or when it fails.
CREATE TABLE job_summaries (
    job_id       uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    state        text NOT NULL CHECK (state IN ('queued', 'ready', 'failed')),
    provider     text NOT NULL,
    model        text,
    summary      jsonb,
    error        text,
    requested_at timestamptz NOT NULL DEFAULT now(),
    generated_at timestamptz
);
