-- Jobs and what their analysis found. pgvector is enabled here for the embedding tables to come.
CREATE EXTENSION IF NOT EXISTS vector;

CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    status          text NOT NULL CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    source_name     text NOT NULL,          -- the client's file name: shown, never used as a path
    media_path      text NOT NULL,          -- where the worker reads the video
    owns_media      boolean NOT NULL,       -- true for uploads: the file is removed when the job ends
    progress        real NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 1),
    frames_analyzed integer NOT NULL DEFAULT 0,
    media           jsonb,
    error_code      text,
    error_message   text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    started_at      timestamptz,
    finished_at     timestamptz
);
CREATE INDEX jobs_created_at ON jobs (created_at DESC);

CREATE TABLE findings (
    id          bigserial PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    module      text NOT NULL,
    label       text NOT NULL,
    score       real NOT NULL,
    frame_index integer NOT NULL,
    timestamp_s double precision NOT NULL,
    box         real[] NOT NULL CHECK (cardinality(box) = 4)
);
CREATE INDEX findings_job_time ON findings (job_id, timestamp_s);
