//! The message log: every inbound and outbound message, which reports build on.

use sqlx::Row;

use super::Store;
use crate::domain::{MsgKey, OpenId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    In,
    Out,
}

impl Direction {
    fn as_str(self) -> &'static str {
        match self {
            Direction::In => "in",
            Direction::Out => "out",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct LoggedMessage {
    pub created_at: i64,
    pub direction: String,
    pub kind: String,
    pub content: String,
    pub meta: Option<String>,
}

impl Store {
    #[allow(clippy::too_many_arguments)]
    pub async fn log_message(
        &self,
        openid: &OpenId,
        direction: Direction,
        kind: &str,
        content: &str,
        key: Option<&MsgKey>,
        meta: Option<&str>,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "INSERT INTO messages (openid, direction, kind, content, msg_key, meta, created_at)
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(openid.as_str())
        .bind(direction.as_str())
        .bind(kind)
        .bind(content)
        .bind(key.map(MsgKey::as_str))
        .bind(meta)
        .bind(now)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// The text of the resident's latest message.
    pub async fn last_inbound_text(&self, openid: &str) -> sqlx::Result<Option<String>> {
        let row =
            sqlx::query("SELECT content FROM messages WHERE openid = $1 AND direction = 'in' ORDER BY id DESC LIMIT 1")
                .bind(openid)
                .fetch_optional(&self.pool)
                .await?;
        row.map(|r| r.try_get("content")).transpose()
    }

    /// A resident's messages, oldest first.
    pub async fn messages(&self, openid: &OpenId) -> sqlx::Result<Vec<LoggedMessage>> {
        let rows = sqlx::query(
            "SELECT direction, kind, content, meta, created_at FROM messages WHERE openid = $1 ORDER BY id",
        )
        .bind(openid.as_str())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LoggedMessage {
                    created_at: r.try_get("created_at")?,
                    direction: r.try_get("direction")?,
                    kind: r.try_get("kind")?,
                    content: r.try_get("content")?,
                    meta: r.try_get("meta")?,
                })
            })
            .collect()
    }
}
