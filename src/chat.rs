//! The shell around the dialogue engine: everything one inbound message causes besides the
//! reply itself: resident and conversation state, the message log, held messages released.

use std::sync::Arc;

use crate::dialog::{self, Conversation, Input};
use crate::knowledge::Knowledge;
use crate::store::{Direction, Store, now};
use crate::wechat::split::{MAX_TEXT_BYTES, split_text};
use crate::wechat::{Body, Inbound, Reply};

/// Runs one inbound message through the engine and records it; returns what to say.
pub async fn process(store: &Store, kb: &Arc<Knowledge>, inbound: &Inbound) -> anyhow::Result<Vec<Reply>> {
    let t = now();
    let who = &inbound.from;
    let key = inbound.key();
    let input = Input::from_body(&inbound.body);
    match &inbound.body {
        Body::Subscribe { scene } => store.set_subscribed(who, true, scene.as_deref(), t).await?,
        Body::Unsubscribe => store.set_subscribed(who, false, None, t).await?,
        // Any message from the resident opens the customer-service window again.
        _ if input != Input::Silent => {
            store.touch_resident(who, true, t).await?;
            let released = store.release_held(who, t).await?;
            if released > 0 {
                tracing::info!(released, "held replies released: the resident wrote again");
            }
        }
        _ => store.touch_resident(who, false, t).await?,
    }
    let content = inbound.text().map(str::to_owned).unwrap_or_else(|| format!("[{}]", inbound.kind()));
    store.log_message(who, Direction::In, inbound.kind(), &content, Some(&key), None, t).await?;

    let conversation: Conversation = match store.conversation(who).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unreadable conversation state; starting afresh");
            Conversation::default()
        }),
        None => Conversation::default(),
    };
    let outcome = dialog::handle(&conversation, &input, kb);
    if input != Input::Unsubscribe {
        store.save_conversation(who, &serde_json::to_string(&outcome.conversation)?, t).await?;
    }
    let meta = (!outcome.events.is_empty()).then(|| serde_json::to_string(&outcome.events)).transpose()?;
    // WeChat takes at most 2048 bytes a message: long texts (guides) go as several.
    let replies: Vec<Reply> = outcome
        .replies
        .into_iter()
        .flat_map(|r| match r {
            Reply::Text { content } => split_text(&content, MAX_TEXT_BYTES).into_iter().map(Reply::text).collect(),
            other => vec![other],
        })
        .collect();
    for reply in &replies {
        store.log_message(who, Direction::Out, "text", &reply.summary(), Some(&key), meta.as_deref(), t).await?;
    }
    tracing::info!(events = ?outcome.events, replies = replies.len(), "message handled");
    Ok(replies)
}
