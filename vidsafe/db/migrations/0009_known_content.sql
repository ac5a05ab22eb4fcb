-- Known-content matching: the PDQ hash of every sampled frame of every job, kept so that a list imported later
-- is matched against past jobs, and the teams' lists of hashes of known violating content.
CREATE TABLE frame_hashes (
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    frame_index integer NOT NULL,
    timestamp_s double precision NOT NULL,
    pdq         bytea NOT NULL CHECK (length(pdq) = 32),
    quality     smallint NOT NULL CHECK (quality BETWEEN 0 AND 100),
    PRIMARY KEY (job_id, frame_index)
);

CREATE TABLE hash_lists (
    id             uuid PRIMARY KEY,
    team_id        uuid NOT NULL REFERENCES teams (id),
    name           text NOT NULL,
    description    text NOT NULL DEFAULT '',
    default_label  text NOT NULL,
    rematch_state  text CHECK (rematch_state IN ('queued', 'running', 'done', 'failed')),
    rematched_jobs integer,
    matched_jobs   integer,
    rematch_error  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);

-- One entry per signal: a PDQ entry has one frame, a vPDQ entry the frames of its video (arrays in order).
CREATE TABLE hash_entries (
    id          bigserial PRIMARY KEY,
    list_id     uuid NOT NULL REFERENCES hash_lists (id) ON DELETE CASCADE,
    signal_type text NOT NULL CHECK (signal_type IN ('pdq', 'vpdq')),
    signal      text NOT NULL,
    label       text NOT NULL,
    pdqs        bytea[] NOT NULL,
    qualities   smallint[] NOT NULL,
    timestamps  double precision[] NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX hash_entries_signal ON hash_entries (list_id, signal_type, md5(signal));

-- A known-content finding names its list: matching a list again replaces its findings.
CREATE INDEX findings_known_content_list ON findings (job_id, (attributes ->> 'list_id'))
    WHERE module = 'known_content';
