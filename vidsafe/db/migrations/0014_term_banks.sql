-- Term banks: a team's words, phrases and regular expressions, each bank evidencing one text category of the
-- policy. A bank's terms are replaced or added to all at once; `version` counts those changes, so a worker knows
-- when the bank it compiled is stale.
CREATE TABLE term_banks (
    id          uuid PRIMARY KEY,
    team_id     uuid NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    name        text NOT NULL,
    category    text NOT NULL,
    description text NOT NULL DEFAULT '',
    version     integer NOT NULL DEFAULT 1,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (team_id, name)
);

CREATE TABLE bank_terms (
    bank_id  uuid NOT NULL REFERENCES term_banks (id) ON DELETE CASCADE,
    position integer NOT NULL,
    kind     text NOT NULL CHECK (kind IN ('phrase', 'regex')),
    term     text NOT NULL,
    PRIMARY KEY (bank_id, position)
);
