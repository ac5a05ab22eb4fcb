-- A policy's rules: review queues of a team's own, a priority within a queue, items that need two reviewers,
-- every firing of a rule on record, and the re-judging of past jobs by a new policy version.
ALTER TABLE review_items DROP CONSTRAINT review_items_queue_check;
ALTER TABLE review_items
    ADD COLUMN priority integer NOT NULL DEFAULT 0,
    ADD COLUMN reviews_required integer NOT NULL DEFAULT 1 CHECK (reviews_required IN (1, 2));
DROP INDEX review_items_next;
CREATE INDEX review_items_next ON review_items (team_id, queue, state, priority DESC, risk DESC, created_at);

-- One row per rule, job and policy version: judged again by the same version, the row is brought up to date.
CREATE TABLE rule_firings (
    job_id         uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    team_id        uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    rule           text NOT NULL,
    policy_version integer NOT NULL,
    state          text NOT NULL CHECK (state IN ('live', 'background')),
    actions        jsonb NOT NULL,
    taken          text NOT NULL,
    why            text NOT NULL,
    at             timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (job_id, policy_version, rule)
);

-- The audit trail shows live firings beside decisions.
ALTER TABLE job_events DROP CONSTRAINT job_events_kind_check;
ALTER TABLE job_events ADD CONSTRAINT job_events_kind_check CHECK (kind IN ('status', 'decision', 'rule'));

-- A team's past jobs judged again by a policy version, in the background; the newest request per team (run_id: the
-- task of that request, so a task of an older one stops; updated_at: its progress, so a dead one can be replaced).
CREATE TABLE policy_rejudging (
    team_id      uuid PRIMARY KEY REFERENCES teams (id) ON DELETE CASCADE,
    run_id       uuid NOT NULL,
    version      integer NOT NULL,
    state        text NOT NULL CHECK (state IN ('queued', 'running', 'done', 'failed')),
    jobs_total   integer,
    jobs_done    integer NOT NULL DEFAULT 0,
    risk_changed integer NOT NULL DEFAULT 0,
    error        text,
    requested_by text NOT NULL,
    requested_at timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now(),
    finished_at  timestamptz
);
