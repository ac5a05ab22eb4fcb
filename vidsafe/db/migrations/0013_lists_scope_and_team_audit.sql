-- Hash lists are managed under a scope of their own (a review key once could create, fill and delete them,
-- switching matching off), and what changes a team's matching or its secrets is kept in the team's audit trail.
ALTER TABLE api_keys DROP CONSTRAINT api_keys_scopes_check;
ALTER TABLE api_keys ADD CONSTRAINT api_keys_scopes_check
    CHECK (scopes <@ ARRAY['submit', 'review', 'lists', 'admin'] AND cardinality(scopes) > 0);

CREATE TABLE team_audit (
    id      bigserial PRIMARY KEY,
    team_id uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    at      timestamptz NOT NULL DEFAULT now(),
    actor   text NOT NULL,
    action  text NOT NULL,
    subject text NOT NULL,
    detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX team_audit_by_team ON team_audit (team_id, id DESC);
