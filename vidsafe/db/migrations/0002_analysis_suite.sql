-- The full analysis suite: per-job options, richer findings, embeddings in pgvector, segments.
ALTER TABLE jobs ADD COLUMN options jsonb NOT NULL DEFAULT '{}';

ALTER TABLE findings
    ALTER COLUMN frame_index DROP NOT NULL,   -- speech findings span time, not a frame
    ALTER COLUMN box DROP NOT NULL,
    ADD COLUMN end_s double precision,
    ADD COLUMN text text,
    ADD COLUMN polygon jsonb,
    ADD COLUMN attributes jsonb NOT NULL DEFAULT '{}';
CREATE INDEX findings_job_module ON findings (job_id, module);

-- One embedding per finding; cosine HNSW indexes answer "seen before?" across all videos.
CREATE TABLE face_embeddings (
    finding_id bigint PRIMARY KEY REFERENCES findings (id) ON DELETE CASCADE,
    job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    embedding  vector(128) NOT NULL
);
CREATE INDEX face_embeddings_cosine ON face_embeddings USING hnsw (embedding vector_cosine_ops);

CREATE TABLE text_embeddings (
    finding_id bigint PRIMARY KEY REFERENCES findings (id) ON DELETE CASCADE,
    job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    embedding  vector(384) NOT NULL
);
CREATE INDEX text_embeddings_cosine ON text_embeddings USING hnsw (embedding vector_cosine_ops);

-- The width depends on the CLIP checkpoint, so the column has none and there is no HNSW index.
CREATE TABLE clip_embeddings (
    finding_id bigint PRIMARY KEY REFERENCES findings (id) ON DELETE CASCADE,
    job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    embedding  vector NOT NULL
);

CREATE TABLE segments (
    id         bigserial PRIMARY KEY,
    job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    module     text NOT NULL,
    label      text NOT NULL,
    start_s    double precision NOT NULL,
    end_s      double precision NOT NULL,
    max_score  real NOT NULL,
    mean_score real NOT NULL,
    count      integer NOT NULL
);
CREATE INDEX segments_job ON segments (job_id, start_s);
