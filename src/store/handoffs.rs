//! Handoffs of conversations to human advisers, and the advisers' accounts and sessions.

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;
use crate::domain::OpenId;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Handoff {
    pub id: i64,
    pub openid: String,
    pub status: String,
    pub reason: String,
    pub urgent: bool,
    pub category: String,
    pub village_id: Option<String>,
    pub town_id: Option<String>,
    pub target_level: Option<String>,
    pub target_adviser: Option<i64>,
    pub adviser_id: Option<i64>,
    pub created_at: i64,
    pub routed_at: i64,
    pub claimed_at: Option<i64>,
    pub closed_at: Option<i64>,
    pub rating: Option<i64>,
}

/// Where a new handoff goes first.
#[derive(Debug, Clone, Default)]
pub struct NewHandoff<'a> {
    pub reason: &'a str,
    pub urgent: bool,
    pub category: &'a str,
    pub village_id: Option<&'a str>,
    pub town_id: Option<&'a str>,
}

const COLUMNS: &str = "id, openid, status, reason, urgent, category, village_id, town_id, target_level, target_adviser, \
     adviser_id, created_at, routed_at, claimed_at, closed_at, rating";

fn handoff(r: &AnyRow) -> sqlx::Result<Handoff> {
    Ok(Handoff {
        id: r.try_get("id")?,
        openid: r.try_get("openid")?,
        status: r.try_get("status")?,
        reason: r.try_get("reason")?,
        urgent: r.try_get::<i64, _>("urgent")? == 1,
        category: r.try_get("category")?,
        village_id: r.try_get("village_id")?,
        town_id: r.try_get("town_id")?,
        target_level: r.try_get("target_level")?,
        target_adviser: r.try_get("target_adviser")?,
        adviser_id: r.try_get("adviser_id")?,
        created_at: r.try_get("created_at")?,
        routed_at: r.try_get("routed_at")?,
        claimed_at: r.try_get("claimed_at")?,
        closed_at: r.try_get("closed_at")?,
        rating: r.try_get("rating")?,
    })
}

impl Store {
    /// Opens a handoff for the resident, or returns the open one (marking it urgent if asked).
    pub async fn open_handoff(&self, openid: &OpenId, new: &NewHandoff<'_>, now: i64) -> sqlx::Result<Handoff> {
        if let Some(open) = self.open_handoff_of(openid).await? {
            if new.urgent && !open.urgent {
                sqlx::query("UPDATE handoffs SET urgent = 1 WHERE id = $1").bind(open.id).execute(&self.pool).await?;
            }
            return self.handoff(open.id).await.map(|h| h.expect("exists"));
        }
        // The partial unique index keeps one open handoff per resident, even across instances.
        let inserted = sqlx::query(
            "INSERT INTO handoffs (openid, status, reason, urgent, category, village_id, town_id, created_at, routed_at)
             VALUES ($1, 'waiting', $2, $3, $4, $5, $6, $7, $7)",
        )
        .bind(openid.as_str())
        .bind(new.reason)
        .bind(i64::from(new.urgent))
        .bind(new.category)
        .bind(new.village_id)
        .bind(new.town_id)
        .bind(now)
        .execute(&self.pool)
        .await;
        match inserted {
            Ok(_) => {}
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => {}
            Err(e) => return Err(e),
        }
        Ok(self.open_handoff_of(openid).await?.expect("just opened"))
    }

    pub async fn open_handoff_of(&self, openid: &OpenId) -> sqlx::Result<Option<Handoff>> {
        let sql = format!("SELECT {COLUMNS} FROM handoffs WHERE openid = $1 AND status <> 'closed'");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(openid.as_str()).fetch_optional(&self.pool).await?;
        row.as_ref().map(handoff).transpose()
    }

    pub async fn handoff(&self, id: i64) -> sqlx::Result<Option<Handoff>> {
        let sql = format!("SELECT {COLUMNS} FROM handoffs WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.pool).await?;
        row.as_ref().map(handoff).transpose()
    }

    /// Every handoff not closed, urgent first, then oldest first.
    pub async fn open_handoffs(&self) -> sqlx::Result<Vec<Handoff>> {
        let sql =
            format!("SELECT {COLUMNS} FROM handoffs WHERE status <> 'closed' ORDER BY urgent DESC, created_at, id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(handoff).collect()
    }

    pub async fn waiting_count(&self) -> sqlx::Result<i64> {
        sqlx::query_scalar("SELECT COUNT(*) FROM handoffs WHERE status = 'waiting'").fetch_one(&self.pool).await
    }

    /// Claims a waiting handoff for an adviser; false when someone else was first.
    pub async fn claim_handoff(&self, id: i64, adviser: i64, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE handoffs SET status = 'active', adviser_id = $1, claimed_at = $2 WHERE id = $3 AND status = 'waiting'",
        )
        .bind(adviser)
        .bind(now)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Sends a handoff back to the queue, aimed at a level ('town', 'district') or an adviser.
    /// `holder`: only while this adviser still holds it (None: whoever holds it, for admins).
    pub async fn transfer_handoff(
        &self,
        id: i64,
        level: &str,
        adviser: Option<i64>,
        holder: Option<i64>,
        now: i64,
    ) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE handoffs SET status = 'waiting', adviser_id = NULL, claimed_at = NULL, target_level = $1,
             target_adviser = $2, routed_at = $3 WHERE id = $4 AND status <> 'closed' AND ($5 IS NULL OR adviser_id = $5)",
        )
        .bind(level)
        .bind(adviser)
        .bind(now)
        .bind(id)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Closes a handoff; `by` is 'adviser', 'resident' or 'bot' (handed back); `holder` as for
    /// a transfer.
    pub async fn close_handoff(&self, id: i64, by: &str, holder: Option<i64>, now: i64) -> sqlx::Result<bool> {
        let done = sqlx::query(
            "UPDATE handoffs SET status = 'closed', closed_at = $1, closed_by = $2
             WHERE id = $3 AND status <> 'closed' AND ($4 IS NULL OR adviser_id = $4)",
        )
        .bind(now)
        .bind(by)
        .bind(id)
        .bind(holder)
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn rate_handoff(&self, id: i64, score: i64, now: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE handoffs SET rating = $1, rated_at = $2 WHERE id = $3 AND rating IS NULL")
            .bind(score)
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn set_village(&self, openid: &OpenId, village: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE residents SET village_id = $1 WHERE openid = $2")
            .bind(village)
            .bind(openid.as_str())
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn village_of(&self, openid: &OpenId) -> sqlx::Result<Option<String>> {
        let row = sqlx::query("SELECT village_id FROM residents WHERE openid = $1")
            .bind(openid.as_str())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| r.try_get("village_id").ok()).flatten())
    }
}
