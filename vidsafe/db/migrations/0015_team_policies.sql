-- A team's policy, versioned: every change is a new version and the newest is live; a team with none judges by the
-- deployment's default (version 0). Each job records the version its risk was judged by.
CREATE TABLE team_policies (
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    version    integer NOT NULL CHECK (version > 0),
    document   jsonb NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL,
    PRIMARY KEY (team_id, version)
);

ALTER TABLE jobs ADD COLUMN policy_version integer;
