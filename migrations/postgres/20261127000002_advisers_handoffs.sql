-- Human advisers: accounts, sessions, login attempts; handoffs of conversations to them.

ALTER TABLE residents ADD COLUMN village_id TEXT;

CREATE TABLE advisers (
    id            BIGSERIAL PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    display_name  TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('adviser', 'admin')),
    town_id       TEXT,
    active        BIGINT NOT NULL DEFAULT 1,
    created_at    BIGINT NOT NULL
);

CREATE TABLE sessions (
    token_hash TEXT PRIMARY KEY,
    adviser_id BIGINT NOT NULL REFERENCES advisers (id),
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE login_attempts (
    id         BIGSERIAL PRIMARY KEY,
    username   TEXT NOT NULL,
    client     TEXT NOT NULL,
    succeeded  BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX login_attempts_recent ON login_attempts (username, created_at);

CREATE TABLE handoffs (
    id             BIGSERIAL PRIMARY KEY,
    openid         TEXT NOT NULL,
    status         TEXT NOT NULL CHECK (status IN ('waiting', 'active', 'closed')),
    reason         TEXT NOT NULL,
    urgent         BIGINT NOT NULL DEFAULT 0,
    category       TEXT NOT NULL DEFAULT '',
    village_id     TEXT,
    town_id        TEXT,
    -- Explicit target after a transfer: 'town', 'district' or 'adviser'.
    target_level   TEXT,
    target_adviser BIGINT,
    adviser_id     BIGINT,
    created_at     BIGINT NOT NULL,
    routed_at      BIGINT NOT NULL,
    claimed_at     BIGINT,
    closed_at      BIGINT,
    closed_by      TEXT,
    rating         BIGINT,
    rated_at       BIGINT
);
CREATE INDEX handoffs_open ON handoffs (status, urgent, created_at);
CREATE INDEX handoffs_by_resident ON handoffs (openid, status);
-- At most one open handoff per resident.
CREATE UNIQUE INDEX handoffs_one_open ON handoffs (openid) WHERE status <> 'closed';
