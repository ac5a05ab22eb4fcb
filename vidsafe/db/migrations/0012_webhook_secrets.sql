-- Each team signs its webhook events with secrets of its own: the current one, and after a rotation the one before
-- it until it expires, so a receiver can switch over without refusing a delivery. (One deployment-wide secret let
-- any team that held it forge events to another team's receiver.)
CREATE TABLE webhook_secrets (
    id         bigserial PRIMARY KEY,
    team_id    uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    secret     text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz  -- NULL: the team's current secret
);
CREATE UNIQUE INDEX webhook_secrets_current ON webhook_secrets (team_id) WHERE expires_at IS NULL;
