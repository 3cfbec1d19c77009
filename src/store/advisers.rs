//! Adviser and admin accounts, their sessions, and login attempts (for rate limiting).

use sqlx::Row;
use sqlx::any::AnyRow;

use super::Store;

/// WeChat's customer-service window after the resident's last message.
const WINDOW_SECS: i64 = 48 * 3600;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Account {
    pub id: i64,
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub town_id: Option<String>,
    #[serde(skip)]
    pub password_hash: String,
}

impl Account {
    pub fn is_admin(&self) -> bool {
        self.role == "admin"
    }
}

fn account(r: &AnyRow) -> sqlx::Result<Account> {
    Ok(Account {
        id: r.try_get("id")?,
        username: r.try_get("username")?,
        display_name: r.try_get("display_name")?,
        role: r.try_get("role")?,
        town_id: r.try_get("town_id")?,
        password_hash: r.try_get("password_hash")?,
    })
}

const ACCOUNT: &str = "SELECT id, username, display_name, role, town_id, password_hash FROM advisers";

impl Store {
    /// Creates an account, or replaces the name, role, town and password of an existing one.
    pub async fn upsert_account(&self, a: &Account, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO advisers (username, display_name, password_hash, role, town_id, created_at)
             VALUES ($1, $2, $3, $4, $5, $6)
             ON CONFLICT (username) DO UPDATE SET display_name = $2, password_hash = $3, role = $4, town_id = $5, active = 1",
        )
        .bind(&a.username)
        .bind(&a.display_name)
        .bind(&a.password_hash)
        .bind(&a.role)
        .bind(&a.town_id)
        .bind(now)
        .execute(&self.pool)
        .await?;
        // A new password ends the old sessions.
        sqlx::query("DELETE FROM sessions WHERE adviser_id IN (SELECT id FROM advisers WHERE username = $1)")
            .bind(&a.username)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn account_by_username(&self, username: &str) -> sqlx::Result<Option<Account>> {
        let sql = format!("{ACCOUNT} WHERE username = $1 AND active = 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(&self.pool).await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn accounts(&self) -> sqlx::Result<Vec<Account>> {
        let sql = format!("{ACCOUNT} WHERE active = 1 ORDER BY username");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.pool).await?;
        rows.iter().map(account).collect()
    }

    pub async fn deactivate_account(&self, username: &str) -> sqlx::Result<bool> {
        let done = sqlx::query("UPDATE advisers SET active = 0 WHERE username = $1")
            .bind(username)
            .execute(&self.pool)
            .await?;
        sqlx::query("DELETE FROM sessions WHERE adviser_id IN (SELECT id FROM advisers WHERE username = $1)")
            .bind(username)
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    pub async fn create_session(&self, token_hash: &str, adviser: i64, expires_at: i64, now: i64) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO sessions (token_hash, adviser_id, expires_at, created_at) VALUES ($1, $2, $3, $4)")
            .bind(token_hash)
            .bind(adviser)
            .bind(expires_at)
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The account behind a live session.
    pub async fn session_account(&self, token_hash: &str, now: i64) -> sqlx::Result<Option<Account>> {
        let row = sqlx::query(
            "SELECT a.id, a.username, a.display_name, a.role, a.town_id, a.password_hash
             FROM sessions s JOIN advisers a ON a.id = s.adviser_id
             WHERE s.token_hash = $1 AND s.expires_at > $2 AND a.active = 1",
        )
        .bind(token_hash)
        .bind(now)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(account).transpose()
    }

    pub async fn delete_session(&self, token_hash: &str) -> sqlx::Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn record_login(&self, username: &str, client: &str, succeeded: bool, now: i64) -> sqlx::Result<()> {
        sqlx::query("INSERT INTO login_attempts (username, client, succeeded, created_at) VALUES ($1, $2, $3, $4)")
            .bind(username)
            .bind(client)
            .bind(i64::from(succeeded))
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Failed logins since `since`, for this username and for this client.
    pub async fn failed_logins(&self, username: &str, client: &str, since: i64) -> sqlx::Result<(i64, i64)> {
        let by_user = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE username = $1 AND succeeded = 0 AND created_at >= $2",
        )
        .bind(username)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        let by_client = sqlx::query_scalar(
            "SELECT COUNT(*) FROM login_attempts WHERE client = $1 AND succeeded = 0 AND created_at >= $2",
        )
        .bind(client)
        .bind(since)
        .fetch_one(&self.pool)
        .await?;
        Ok((by_user, by_client))
    }

    /// True while WeChat's customer-service window is open: 48 hours after the resident's last message.
    pub async fn window_open(&self, openid: &str, now: i64) -> sqlx::Result<bool> {
        Ok(self.last_inbound(openid).await?.is_some_and(|last| now - last < WINDOW_SECS))
    }

    /// The last inbound message time of a resident (the customer-service window).
    pub async fn last_inbound(&self, openid: &str) -> sqlx::Result<Option<i64>> {
        let row = sqlx::query("SELECT last_inbound_at FROM residents WHERE openid = $1")
            .bind(openid)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.and_then(|r| r.try_get("last_inbound_at").ok()).flatten())
    }
}
