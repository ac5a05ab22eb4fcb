-- The review workflow: media kept for review, a job's risk, the review queue with leases, decisions on
-- record, full-text search over transcripts and on-screen text, and people across videos.

-- A succeeded job's video is kept until media_kept_until (the team's retention, or the setting's), then swept.
ALTER TABLE teams ADD COLUMN media_retention_s double precision CHECK (media_retention_s >= 0);
ALTER TABLE jobs
    ADD COLUMN media_kept_until timestamptz,
    ADD COLUMN risk real CHECK (risk BETWEEN 0 AND 1),
    ADD COLUMN risk_reasons jsonb NOT NULL DEFAULT '[]';

-- A reviewer's own settings (blurring of sensitive thumbnails).
ALTER TABLE api_keys ADD COLUMN preferences jsonb NOT NULL DEFAULT '{}';

-- Exact words in transcripts and on-screen text.
ALTER TABLE findings ADD COLUMN text_search tsvector
    GENERATED ALWAYS AS (to_tsvector('english', coalesce(text, ''))) STORED;
CREATE INDEX findings_text_search ON findings USING gin (text_search);
CREATE INDEX jobs_team_created_id ON jobs (team_id, created_at DESC, id DESC);

-- One review item per analysed job: in the review or the escalation queue, open until decided. A claim is a
-- lease: held by one reviewer until it runs out, is released, or the item is decided.
CREATE TABLE review_items (
    job_id          uuid PRIMARY KEY REFERENCES jobs (id) ON DELETE CASCADE,
    team_id         uuid NOT NULL REFERENCES teams (id),
    queue           text NOT NULL DEFAULT 'review' CHECK (queue IN ('review', 'escalation')),
    state           text NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'decided')),
    risk            real NOT NULL,
    claimed_by      uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    claimed_by_name text,
    lease_until     timestamptz,
    assigned_to     uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    skipped_by      uuid[] NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX review_items_next ON review_items (team_id, queue, state, risk DESC, created_at);

-- Decisions are append-only: a change of mind is a new decision. Rows go only with their job (a cascade).
CREATE TABLE decisions (
    id           bigserial PRIMARY KEY,
    job_id       uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    team_id      uuid NOT NULL REFERENCES teams (id),
    action       text NOT NULL CHECK (action IN ('approve', 'reject', 'escalate')),
    start_s      double precision,  -- NULL: the whole video; else the segment decided on
    end_s        double precision,
    policy_label text NOT NULL,
    note         text NOT NULL DEFAULT '',
    actor        text NOT NULL,
    api_key_id   uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    at           timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX decisions_team ON decisions (team_id, id DESC);
CREATE INDEX decisions_job ON decisions (job_id, id);

CREATE FUNCTION decisions_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- pg_trigger_depth() > 1: the delete cascades from the job's (the foreign key's own trigger runs it).
    IF TG_OP = 'DELETE' AND pg_trigger_depth() > 1 THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'decisions are append-only' USING ERRCODE = 'insufficient_privilege';
END $$;
CREATE TRIGGER decisions_append_only BEFORE UPDATE OR DELETE ON decisions
    FOR EACH ROW EXECUTE FUNCTION decisions_append_only();

-- The audit trail shows decisions beside changes of status: an event of kind 'decision' has no status.
ALTER TABLE job_events ALTER COLUMN to_status DROP NOT NULL;
ALTER TABLE job_events ADD COLUMN kind text NOT NULL DEFAULT 'status' CHECK (kind IN ('status', 'decision'));

CREATE FUNCTION record_decision_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO job_events (job_id, at, from_status, to_status, priority, actor, reason, kind)
    SELECT NEW.job_id, NEW.at, NULL, NULL, j.priority, NEW.actor,
           NEW.action || ' (' || NEW.policy_label || ')'
           || CASE WHEN NEW.start_s IS NULL THEN '' ELSE format(' at %s-%s s', round(NEW.start_s::numeric, 1),
                                                                  round(NEW.end_s::numeric, 1)) END
           || CASE WHEN NEW.note = '' THEN '' ELSE ': ' || NEW.note END,
           'decision'
    FROM jobs j WHERE j.id = NEW.job_id;
    RETURN NULL;
END $$;
CREATE TRIGGER decisions_audit AFTER INSERT ON decisions FOR EACH ROW EXECUTE FUNCTION record_decision_event();

-- People: the team's faces across videos grouped by their embeddings, incrementally (each job's face
-- identities join the nearest person, or start one). A person can be named, hidden, merged, split.
CREATE TABLE people (
    id         uuid PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams (id),
    name       text,
    hidden     boolean NOT NULL DEFAULT false,
    centroid   vector(128) NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX people_team ON people (team_id, created_at);
ALTER TABLE face_embeddings ADD COLUMN person_id uuid REFERENCES people (id) ON DELETE SET NULL;
CREATE INDEX face_embeddings_person ON face_embeddings (person_id);
