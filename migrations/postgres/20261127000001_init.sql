-- Residents, conversations, the message log, processed WeChat deliveries, and the outbox.
-- Times are Unix seconds (BIGINT) so that both backends store and compare them alike.

CREATE TABLE residents (
    openid          TEXT PRIMARY KEY,
    subscribed      BIGINT NOT NULL DEFAULT 0,
    scene           TEXT,
    first_seen_at   BIGINT NOT NULL,
    last_inbound_at BIGINT,
    subscribed_at   BIGINT,
    unsubscribed_at BIGINT
);

CREATE TABLE conversations (
    openid     TEXT PRIMARY KEY,
    state      TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE messages (
    id         BIGSERIAL PRIMARY KEY,
    openid     TEXT NOT NULL,
    direction  TEXT NOT NULL CHECK (direction IN ('in', 'out')),
    kind       TEXT NOT NULL,
    content    TEXT NOT NULL,
    msg_key    TEXT,
    meta       TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX messages_by_resident ON messages (openid, id);
CREATE INDEX messages_by_time ON messages (created_at);

CREATE TABLE processed_messages (
    msg_key    TEXT PRIMARY KEY,
    openid     TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('processing', 'replied', 'deferred')),
    reply      TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX processed_messages_by_time ON processed_messages (created_at);

CREATE TABLE outbox (
    id              BIGSERIAL PRIMARY KEY,
    openid          TEXT NOT NULL,
    payload         TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sending', 'sent', 'held', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error      TEXT,
    created_at      BIGINT NOT NULL,
    sent_at         BIGINT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
