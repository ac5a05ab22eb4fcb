-- Job control, batches, a job's work split into parts, webhook deliveries, and the audit trail.

CREATE TABLE batches (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    auto_start   boolean NOT NULL,
    priority     smallint NOT NULL CHECK (priority BETWEEN 0 AND 9),
    callback_url text,
    api_key_id   uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    created_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX batches_created_at ON batches (created_at DESC);

ALTER TABLE jobs DROP CONSTRAINT jobs_status_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_status_check
    CHECK (status IN ('pending', 'queued', 'running', 'paused', 'cancelled', 'succeeded', 'failed'));
ALTER TABLE jobs
    ADD COLUMN batch_id     uuid REFERENCES batches (id) ON DELETE SET NULL,
    ADD COLUMN priority     smallint NOT NULL DEFAULT 5 CHECK (priority BETWEEN 0 AND 9),
    ADD COLUMN callback_url text,
    ADD COLUMN source_url   text,
    ADD COLUMN retryable    boolean NOT NULL DEFAULT false,
    ADD COLUMN updated_at   timestamptz NOT NULL DEFAULT now();
CREATE INDEX jobs_batch ON jobs (batch_id) WHERE batch_id IS NOT NULL;
CREATE INDEX jobs_status ON jobs (status);

-- A job's work: time chunks of frames, the audio track, and the rules that read their findings.
-- A part is claimed with a lease that its worker renews; each claim bumps `attempt`, and writes are
-- accepted only from the attempt that holds the part (a fencing token), so a part's findings are those of
-- exactly one attempt however often it is redelivered, resumed or taken over.
CREATE TABLE job_parts (
    job_id          uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    kind            text NOT NULL CHECK (kind IN ('frames', 'audio', 'rules')),
    index           integer NOT NULL,
    start_s         double precision NOT NULL,
    end_s           double precision,               -- NULL: to the end of the video
    status          text NOT NULL CHECK (status IN ('waiting', 'pending', 'running', 'done')),
    attempt         integer NOT NULL DEFAULT 0,
    lease_until     timestamptz,
    sent_at         timestamptz,
    frames_analyzed integer NOT NULL DEFAULT 0,
    finished_at     timestamptz,
    PRIMARY KEY (job_id, kind, index)
);
CREATE INDEX job_parts_running ON job_parts (lease_until) WHERE status = 'running';
CREATE INDEX job_parts_pending ON job_parts (sent_at) WHERE status = 'pending';

ALTER TABLE findings
    ADD COLUMN part_kind  text,
    ADD COLUMN part_index integer;
CREATE INDEX findings_job_part ON findings (job_id, part_kind, part_index);

CREATE TABLE webhook_deliveries (
    id              bigserial PRIMARY KEY,
    job_id          uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    url             text NOT NULL,
    event           jsonb NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL DEFAULT now(),
    last_error      text,
    created_at      timestamptz NOT NULL DEFAULT now(),
    delivered_at    timestamptz
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';

-- Every change of a job's status or priority, written by a trigger so that no code path can skip it.
-- Who and why come from the transaction's settings vidsafe.actor and vidsafe.reason.
CREATE TABLE job_events (
    id          bigserial PRIMARY KEY,
    job_id      uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT clock_timestamp(),
    from_status text,
    to_status   text NOT NULL,
    priority    smallint NOT NULL,
    actor       text NOT NULL,
    reason      text
);
CREATE INDEX job_events_job ON job_events (job_id, id);

CREATE FUNCTION record_job_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' OR NEW.status IS DISTINCT FROM OLD.status OR NEW.priority IS DISTINCT FROM OLD.priority THEN
        INSERT INTO job_events (job_id, from_status, to_status, priority, actor, reason)
        VALUES (NEW.id, CASE WHEN TG_OP = 'UPDATE' THEN OLD.status END, NEW.status, NEW.priority,
                coalesce(nullif(current_setting('vidsafe.actor', true), ''), 'system'),
                coalesce(nullif(current_setting('vidsafe.reason', true), ''),
                         CASE WHEN NEW.status = 'failed' THEN NEW.error_message END));
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER jobs_audit AFTER INSERT OR UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION record_job_event();

CREATE FUNCTION touch_job() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
CREATE TRIGGER jobs_touch BEFORE UPDATE ON jobs FOR EACH ROW EXECUTE FUNCTION touch_job();
