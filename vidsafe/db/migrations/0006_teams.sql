-- Teams: every key, job and batch belongs to one; a key sees only its team's resources. The data of a
-- deployment from before teams moves into the team `default`, the operator team, whose admin keys may act
-- for any team (explicitly, naming it per request), so its existing keys keep what they could do.
CREATE TABLE teams (
    id                      uuid PRIMARY KEY,
    name                    text NOT NULL UNIQUE CHECK (name ~ '^[a-z0-9][a-z0-9_-]{0,62}$'),
    operator                boolean NOT NULL DEFAULT false,
    -- Limits; NULL: the deployment's setting.
    max_running_jobs        integer CHECK (max_running_jobs >= 0),
    max_queued_jobs         integer CHECK (max_queued_jobs >= 0),
    max_video_hours_per_day double precision CHECK (max_video_hours_per_day >= 0),
    created_at              timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX teams_one_operator ON teams (operator) WHERE operator;
INSERT INTO teams (id, name, operator) VALUES ('00000000-0000-0000-0000-000000000001', 'default', true);

ALTER TABLE api_keys ADD COLUMN team_id uuid REFERENCES teams (id);
ALTER TABLE jobs ADD COLUMN team_id uuid REFERENCES teams (id);
ALTER TABLE batches ADD COLUMN team_id uuid REFERENCES teams (id);
UPDATE api_keys SET team_id = '00000000-0000-0000-0000-000000000001';
UPDATE jobs SET team_id = '00000000-0000-0000-0000-000000000001';
UPDATE batches SET team_id = '00000000-0000-0000-0000-000000000001';
ALTER TABLE api_keys ALTER COLUMN team_id SET NOT NULL;
ALTER TABLE jobs ALTER COLUMN team_id SET NOT NULL;
ALTER TABLE batches ALTER COLUMN team_id SET NOT NULL;
CREATE INDEX jobs_team_created ON jobs (team_id, created_at DESC);
CREATE INDEX jobs_team_status ON jobs (team_id, status);
CREATE INDEX batches_team_created ON batches (team_id, created_at DESC);

-- Key names are unique within a team (an audit trail is read within its team).
ALTER TABLE api_keys DROP CONSTRAINT api_keys_name_key;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_team_name UNIQUE (team_id, name);

-- An idempotency key is bound to its request (a fingerprint of endpoint, options and video) and expires.
ALTER TABLE jobs ADD COLUMN idempotency_fingerprint text;

-- Options are strict now: what was accepted before and is refused now is brought into range, so every stored
-- job still reads (an empty module list meant the default set; scores outside [0, 1] are clamped).
UPDATE jobs SET options = options - 'modules' WHERE options -> 'modules' = '[]'::jsonb;
UPDATE jobs SET options = jsonb_set(options, '{min_scores}', (
    SELECT coalesce(jsonb_object_agg(key, least(greatest((value #>> '{}')::float, 0), 1)), '{}'::jsonb)
    FROM jsonb_each(options -> 'min_scores')))
WHERE jsonb_typeof(options -> 'min_scores') = 'object';
UPDATE jobs SET options = jsonb_set(options, '{sample_fps}', to_jsonb(1.0 / 60))
WHERE (options ->> 'sample_fps')::float < 1.0 / 60;
