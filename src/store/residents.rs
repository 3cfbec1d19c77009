//! Residents (by OpenID, with their follow state) and their conversation state.

use sqlx::Row;

use super::Store;
use crate::domain::OpenId;

impl Store {
    /// Notes that a resident wrote (or did something), creating the row on first contact.
    /// `inbound` marks a message that opens WeChat's 48-hour customer-service window.
    pub async fn touch_resident(&self, openid: &OpenId, inbound: bool, now: i64) -> sqlx::Result<()> {
        let last = inbound.then_some(now);
        sqlx::query(
            "INSERT INTO residents (openid, subscribed, first_seen_at, last_inbound_at) VALUES ($1, 1, $2, $3)
             ON CONFLICT (openid) DO UPDATE SET last_inbound_at = COALESCE($3, residents.last_inbound_at)",
        )
        .bind(openid.as_str())
        .bind(now)
        .bind(last)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn set_subscribed(
        &self,
        openid: &OpenId,
        subscribed: bool,
        scene: Option<&str>,
        now: i64,
    ) -> sqlx::Result<()> {
        self.touch_resident(openid, false, now).await?;
        if subscribed {
            sqlx::query("UPDATE residents SET subscribed = 1, subscribed_at = $2, scene = COALESCE($3, scene) WHERE openid = $1")
                .bind(openid.as_str())
                .bind(now)
                .bind(scene)
                .execute(&self.pool)
                .await?;
        } else {
            sqlx::query("UPDATE residents SET subscribed = 0, unsubscribed_at = $2 WHERE openid = $1")
                .bind(openid.as_str())
                .bind(now)
                .execute(&self.pool)
                .await?;
            // WeChat asks that a resident's data go when they unfollow; the state goes now, and
            // so do an open handoff nobody would read and replies that can never be delivered.
            sqlx::query("DELETE FROM conversations WHERE openid = $1")
                .bind(openid.as_str())
                .execute(&self.pool)
                .await?;
            sqlx::query(
                "UPDATE handoffs SET status = 'closed', closed_at = $2, closed_by = 'resident' WHERE openid = $1 AND status <> 'closed'",
            )
            .bind(openid.as_str())
            .bind(now)
            .execute(&self.pool)
            .await?;
            sqlx::query("DELETE FROM outbox WHERE openid = $1 AND status = 'held'")
                .bind(openid.as_str())
                .execute(&self.pool)
                .await?;
        }
        Ok(())
    }

    /// (subscribed, last_inbound_at) of a resident, if known.
    pub async fn resident(&self, openid: &OpenId) -> sqlx::Result<Option<(bool, Option<i64>)>> {
        let row = sqlx::query("SELECT subscribed, last_inbound_at FROM residents WHERE openid = $1")
            .bind(openid.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| Ok((r.try_get::<i64, _>("subscribed")? == 1, r.try_get("last_inbound_at")?))).transpose()
    }

    /// The stored conversation state (JSON), if any.
    pub async fn conversation(&self, openid: &OpenId) -> sqlx::Result<Option<String>> {
        sqlx::query("SELECT state FROM conversations WHERE openid = $1")
            .bind(openid.as_str())
            .fetch_optional(&self.pool)
            .await?
            .map(|r| r.try_get("state"))
            .transpose()
    }

    pub async fn save_conversation(&self, openid: &OpenId, state: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO conversations (openid, state, updated_at) VALUES ($1, $2, $3)
             ON CONFLICT (openid) DO UPDATE SET state = $2, updated_at = $3",
        )
        .bind(openid.as_str())
        .bind(state)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
