-- Appointments at service points, one seat each; the partial unique index makes a slot's
-- capacity hold under concurrent bookings on every instance. And the waitlist.

CREATE TABLE appointments (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    number        TEXT NOT NULL UNIQUE,
    openid        TEXT NOT NULL,
    service       TEXT NOT NULL,
    point         TEXT NOT NULL,
    slot_start    BIGINT NOT NULL,
    seat          BIGINT NOT NULL,
    name          TEXT NOT NULL,
    phone         TEXT NOT NULL,
    matter        TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('booked', 'cancelled', 'arrived', 'no_show', 'done')),
    cancel_reason TEXT,
    reminded_at   BIGINT,
    created_at    BIGINT NOT NULL,
    updated_at    BIGINT NOT NULL
);
CREATE UNIQUE INDEX appointments_seat ON appointments (point, service, slot_start, seat) WHERE status <> 'cancelled';
CREATE INDEX appointments_by_resident ON appointments (openid, status);
CREATE INDEX appointments_by_time ON appointments (slot_start, point);

CREATE TABLE waitlist (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    openid     TEXT NOT NULL,
    service    TEXT NOT NULL,
    point      TEXT NOT NULL,
    status     TEXT NOT NULL CHECK (status IN ('waiting', 'offered', 'removed')),
    created_at BIGINT NOT NULL,
    offered_at BIGINT
);
CREATE INDEX waitlist_queue ON waitlist (point, service, status, id);
