-- API keys (only their sha256 is stored) with scopes, and idempotent job submission per key.
CREATE TABLE api_keys (
    id           uuid PRIMARY KEY,
    name         text NOT NULL UNIQUE,
    prefix       text NOT NULL,                  -- the key's first characters, to recognise it in lists
    key_sha256   text NOT NULL UNIQUE,
    scopes       text[] NOT NULL CHECK (scopes <@ ARRAY['submit', 'review', 'admin'] AND cardinality(scopes) > 0),
    created_at   timestamptz NOT NULL DEFAULT now(),
    last_used_at timestamptz,
    revoked_at   timestamptz
);

ALTER TABLE jobs
    ADD COLUMN api_key_id uuid REFERENCES api_keys (id) ON DELETE SET NULL,
    ADD COLUMN idempotency_key text;
-- A client's retry with the same key finds the job it already created (as Rekognition's ClientRequestToken).
CREATE UNIQUE INDEX jobs_idempotency ON jobs (api_key_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
