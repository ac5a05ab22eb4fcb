-- Seconds of sensitive stretches a reviewer played unblurred, per day (UTC): shown to them and to their lead; past
-- the team's soft limit the queue offers them milder videos first. The team's defaults of reviewers' preferences
-- (protection) are what a reviewer has until they save their own.
CREATE TABLE reviewer_exposure (
    api_key_id uuid NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    day        date NOT NULL,
    seconds    double precision NOT NULL CHECK (seconds >= 0),
    PRIMARY KEY (api_key_id, day)
);
ALTER TABLE teams ADD COLUMN exposure_soft_limit_s double precision,
                  ADD COLUMN review_defaults jsonb NOT NULL DEFAULT '{}';
