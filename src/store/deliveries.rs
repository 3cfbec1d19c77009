//! WeChat deliveries processed once, durably: WeChat retries a slow message up to three times,
//! and every instance sharing the database must see the first claim.

use sqlx::Row;

use super::Store;
use crate::domain::{MsgKey, OpenId};

#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// First delivery: process it.
    New,
    /// Already answered passively with this reply XML (plaintext), to be sent again.
    Replied(String),
    /// Being processed, or the answer went by the customer-service API.
    Pending,
}

impl Store {
    pub async fn claim_delivery(&self, key: &MsgKey, openid: &OpenId, now: i64) -> sqlx::Result<Claim> {
        let inserted = sqlx::query(
            "INSERT INTO processed_messages (msg_key, openid, status, created_at, updated_at)
             VALUES ($1, $2, 'processing', $3, $3) ON CONFLICT (msg_key) DO NOTHING",
        )
        .bind(key.as_str())
        .bind(openid.as_str())
        .bind(now)
        .execute(&self.pool)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(Claim::New);
        }
        self.delivery_status(key).await
    }

    pub async fn delivery_status(&self, key: &MsgKey) -> sqlx::Result<Claim> {
        let row = sqlx::query("SELECT status, reply FROM processed_messages WHERE msg_key = $1")
            .bind(key.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(match row {
            None => Claim::New,
            Some(row) => {
                match (row.try_get::<String, _>("status")?.as_str(), row.try_get::<Option<String>, _>("reply")?) {
                    ("replied", Some(reply)) => Claim::Replied(reply),
                    _ => Claim::Pending,
                }
            }
        })
    }

    /// Records how a delivery ended: with a passive reply (kept for retries) or deferred to the outbox.
    pub async fn finish_delivery(&self, key: &MsgKey, reply: Option<&str>, now: i64) -> sqlx::Result<()> {
        let status = if reply.is_some() { "replied" } else { "deferred" };
        sqlx::query("UPDATE processed_messages SET status = $1, reply = $2, updated_at = $3 WHERE msg_key = $4")
            .bind(status)
            .bind(reply)
            .bind(now)
            .bind(key.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Forgets a claim whose processing failed, so that WeChat's retry is processed afresh.
    pub async fn release_delivery(&self, key: &MsgKey) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM processed_messages WHERE msg_key = $1 AND status = 'processing'")
            .bind(key.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Drops keys older than `before`: WeChat stops retrying within a minute.
    pub async fn prune_deliveries(&self, before: i64) -> sqlx::Result<u64> {
        Ok(sqlx::query("DELETE FROM processed_messages WHERE created_at < $1")
            .bind(before)
            .execute(&self.pool)
            .await?
            .rows_affected())
    }
}
