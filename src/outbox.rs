//! The outbox worker: takes due messages from the database one at a time and sends them with
//! the customer-service API; retries transient failures with backoff, holds messages while the
//! resident's 48-hour window is closed, and gives up visibly on permanent errors.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use crate::domain::OpenId;
use crate::store::{OutboxItem, OutboxStatus, Store, now};
use crate::wechat::{ApiClient, ApiError, Reply};

/// How long a claimed message stays leased to one sender before another may take it.
const LEASE_SECS: i64 = 60;
const MAX_ATTEMPTS: i64 = 8;
const IDLE_POLL: Duration = Duration::from_secs(1);

/// Wakes the worker when something is enqueued, so it need not wait for the next poll.
#[derive(Clone, Default)]
pub struct Wakeup(Arc<Notify>);

impl Wakeup {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// What became of one send attempt.
fn settle(err: Option<&ApiError>, attempts: i64, now: i64) -> (OutboxStatus, i64) {
    match err {
        None => (OutboxStatus::Sent, now),
        // 45015: window expired or unfollowed; 45047: five messages already used.
        Some(e) if matches!(e.code(), Some(45015 | 45047)) => (OutboxStatus::Held, now),
        Some(e) if e.is_transient() && attempts < MAX_ATTEMPTS => {
            let backoff = 2i64.pow(attempts.clamp(1, 9) as u32).min(600);
            (OutboxStatus::Pending, now + backoff)
        }
        Some(_) => (OutboxStatus::Failed, now),
    }
}

async fn deliver(client: &ApiClient, item: &OutboxItem) -> Result<(), ApiError> {
    let openid =
        OpenId::parse(&item.openid).map_err(|_| ApiError::Wechat { code: 40003, message: "invalid openid".into() })?;
    let reply: Reply = serde_json::from_str(&item.payload)
        .map_err(|e| ApiError::Wechat { code: -2, message: format!("unreadable payload: {e}") })?;
    client.send_text(&openid, &reply.summary()).await
}

/// Sends every due message; returns how many were attempted.
pub async fn drain(store: &Store, client: &ApiClient) -> anyhow::Result<usize> {
    let mut attempted = 0;
    while let Some(item) = store.claim_outbox(now(), now() + LEASE_SECS).await? {
        attempted += 1;
        let result = deliver(client, &item).await;
        let (status, next) = settle(result.as_ref().err(), item.attempts, now());
        let error = result.as_ref().err().map(ToString::to_string);
        match &result {
            Ok(()) => tracing::info!(outbox_id = item.id, "outbox message sent"),
            Err(e) => {
                tracing::warn!(outbox_id = item.id, attempts = item.attempts, status = status.as_str(), error = %e, "outbox send failed")
            }
        }
        store.settle_outbox(item.id, status, next, error.as_deref(), now()).await?;
    }
    Ok(attempted)
}

/// Runs until the process ends.
pub async fn run(store: Store, client: Arc<ApiClient>, wakeup: Wakeup) {
    loop {
        if let Err(e) = drain(&store, &client).await {
            tracing::error!(error = %e, "outbox worker error");
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
        let _ = tokio::time::timeout(IDLE_POLL, wakeup.0.notified()).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settles_by_error_kind() {
        let busy = ApiError::Wechat { code: -1, message: "system busy".into() };
        let window = ApiError::Wechat { code: 45015, message: "out of time".into() };
        let invalid = ApiError::Wechat { code: 40003, message: "invalid openid".into() };
        assert_eq!(settle(None, 1, 100), (OutboxStatus::Sent, 100));
        assert_eq!(settle(Some(&busy), 1, 100), (OutboxStatus::Pending, 102));
        assert_eq!(settle(Some(&busy), 3, 100), (OutboxStatus::Pending, 108));
        assert_eq!(settle(Some(&busy), MAX_ATTEMPTS, 100).0, OutboxStatus::Failed);
        assert_eq!(settle(Some(&window), 1, 100).0, OutboxStatus::Held);
        assert_eq!(settle(Some(&invalid), 1, 100).0, OutboxStatus::Failed);
    }
}
