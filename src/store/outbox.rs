//! Durable outbound messages: written in the database first, sent by the outbox worker, so a
//! crash between accepting and sending loses nothing.

use sqlx::Row;

use super::{Backend, Store};
use crate::domain::OpenId;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxStatus {
    Pending,
    Sending,
    Sent,
    /// WeChat's customer-service window is closed; kept until the resident writes again.
    Held,
    Failed,
}

impl OutboxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            OutboxStatus::Pending => "pending",
            OutboxStatus::Sending => "sending",
            OutboxStatus::Sent => "sent",
            OutboxStatus::Held => "held",
            OutboxStatus::Failed => "failed",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct OutboxItem {
    pub id: i64,
    pub openid: String,
    /// The reply as JSON (`wechat::Reply`).
    pub payload: String,
    pub attempts: i64,
}

impl Store {
    /// Keeps a message until the resident writes again (their 48-hour window is closed).
    pub async fn enqueue_held(&self, openid: &OpenId, payload: &str) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO outbox (openid, payload, status, next_attempt_at, created_at) VALUES ($1, $2, 'held', $3, $3)",
        )
        .bind(openid.as_str())
        .bind(payload)
        .bind(super::now())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Held messages of a resident.
    pub async fn held_count(&self, openid: &str) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE openid = $1 AND status = 'held'")
            .bind(openid)
            .fetch_one(&self.pool)
            .await
    }

    /// Queues a message, due at `due` (Unix seconds).
    pub async fn enqueue(&self, openid: &OpenId, payload: &str, due: i64) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO outbox (openid, payload, status, next_attempt_at, created_at) VALUES ($1, $2, 'pending', $3, $4)")
            .bind(openid.as_str())
            .bind(payload)
            .bind(due)
            .bind(super::now())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Takes the oldest due message, leasing it until `lease_until`; a lease that runs out
    /// (the sender crashed) makes the message due again.
    pub async fn claim_outbox(&self, now: i64, lease_until: i64) -> sqlx::Result<Option<OutboxItem>> {
        const CLAIM: &str = "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1
             WHERE id = (SELECT id FROM outbox o WHERE status IN ('pending', 'sending') AND next_attempt_at <= $2
                         AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.openid = o.openid AND e.id < o.id
                                         AND e.status IN ('pending', 'sending', 'held'))
                         ORDER BY id LIMIT 1)
             RETURNING id, openid, payload, attempts";
        const CLAIM_SKIP_LOCKED: &str =
            "UPDATE outbox SET status = 'sending', attempts = attempts + 1, next_attempt_at = $1
             WHERE id = (SELECT id FROM outbox o WHERE status IN ('pending', 'sending') AND next_attempt_at <= $2
                         AND NOT EXISTS (SELECT 1 FROM outbox e WHERE e.openid = o.openid AND e.id < o.id
                                         AND e.status IN ('pending', 'sending', 'held'))
                         ORDER BY id LIMIT 1 FOR UPDATE SKIP LOCKED)
             RETURNING id, openid, payload, attempts";
        // SQLite has one writer at a time; PostgreSQL instances skip rows another one holds.
        // A resident's messages go in order: none while an older one is unsent or held.
        let sql = match self.backend {
            Backend::Postgres => CLAIM_SKIP_LOCKED,
            Backend::Sqlite => CLAIM,
        };
        let row = sqlx::query(sql).bind(lease_until).bind(now).fetch_optional(&self.pool).await?;
        row.map(|r| {
            Ok(OutboxItem {
                id: r.try_get("id")?,
                openid: r.try_get("openid")?,
                payload: r.try_get("payload")?,
                attempts: r.try_get("attempts")?,
            })
        })
        .transpose()
    }

    /// Sets a message's status; `next_attempt_at` matters for `pending` (a retry time).
    pub async fn settle_outbox(
        &self,
        id: i64,
        status: OutboxStatus,
        next_attempt_at: i64,
        error: Option<&str>,
        now: i64,
    ) -> sqlx::Result<()> {
        let sent_at = (status == OutboxStatus::Sent).then_some(now);
        sqlx::query("UPDATE outbox SET status = $1, next_attempt_at = $2, last_error = $3, sent_at = $4 WHERE id = $5")
            .bind(status.as_str())
            .bind(next_attempt_at)
            .bind(error)
            .bind(sent_at)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Makes a resident's held messages due again (they wrote, so the window is open).
    pub async fn release_held(&self, openid: &OpenId, now: i64) -> sqlx::Result<u64> {
        Ok(sqlx::query(
            "UPDATE outbox SET status = 'pending', next_attempt_at = $1 WHERE openid = $2 AND status = 'held'",
        )
        .bind(now)
        .bind(openid.as_str())
        .execute(&self.pool)
        .await?
        .rows_affected())
    }

    /// (status, count) over the outbox, for health and tests.
    pub async fn outbox_counts(&self) -> sqlx::Result<Vec<(String, i64)>> {
        let rows = sqlx::query("SELECT status, COUNT(*) AS n FROM outbox GROUP BY status ORDER BY status")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("status")?, r.try_get("n")?))).collect()
    }
}
