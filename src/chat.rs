//! The shell around the dialogue engine: everything one inbound message causes besides the
//! reply itself: resident and conversation state, the message log, held replies released,
//! handoffs opened or closed, the advisers' consoles told.

use std::sync::Arc;

use crate::clock;
use crate::desk::{DeskEvent, Notifier};
use crate::dialog::{self, Action, Context, Conversation, Input, Mode};
use crate::domain::OpenId;
use crate::knowledge::Knowledge;
use crate::store::{Direction, NewHandoff, Store, now};
use crate::wechat::split::{MAX_TEXT_BYTES, split_text};
use crate::wechat::{Body, Inbound, Reply};

/// Runs one inbound message through the engine and records it; returns what to say.
pub async fn process(
    store: &Store,
    kb: &Arc<Knowledge>,
    notifier: &Notifier,
    inbound: &Inbound,
) -> anyhow::Result<Vec<Reply>> {
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

    let conversation = load_conversation(store, who).await?;
    let village = store.village_of(who).await?;
    let waiting = store.waiting_count().await?;
    let ctx = Context { kb, now: clock::local(t), waiting: waiting as usize, village: village.as_deref() };
    let outcome = dialog::handle(&conversation, &input, &ctx);
    if input != Input::Unsubscribe {
        store.save_conversation(who, &serde_json::to_string(&outcome.conversation)?, t).await?;
    }
    for action in &outcome.actions {
        perform(store, kb, notifier, who, &outcome.conversation, action, t).await?;
    }
    if outcome.conversation.mode == Mode::Human
        && input != Input::Silent
        && let Some(h) = store.open_handoff_of(who).await?
    {
        notifier.send(DeskEvent::Message { handoff_id: h.id });
    }

    // WeChat takes at most 2048 bytes a message: long texts (guides) go as several.
    let replies: Vec<Reply> = outcome
        .replies
        .into_iter()
        .flat_map(|r| match r {
            Reply::Text { content } => split_text(&content, MAX_TEXT_BYTES).into_iter().map(Reply::text).collect(),
            other => vec![other],
        })
        .collect();
    let meta = (!outcome.events.is_empty()).then(|| serde_json::to_string(&outcome.events)).transpose()?;
    for reply in &replies {
        store.log_message(who, Direction::Out, "text", &reply.summary(), Some(&key), meta.as_deref(), t).await?;
    }
    if replies.is_empty() && meta.is_some() {
        // Events with no reply (a risk word while with an adviser…) still reach the log.
        store.log_message(who, Direction::Out, "event", "", Some(&key), meta.as_deref(), t).await?;
    }
    tracing::info!(events = ?outcome.events, replies = replies.len(), "message handled");
    Ok(replies)
}

pub async fn load_conversation(store: &Store, who: &OpenId) -> anyhow::Result<Conversation> {
    Ok(match store.conversation(who).await? {
        Some(json) => serde_json::from_str(&json).unwrap_or_else(|e| {
            tracing::warn!(error = %e, "unreadable conversation state; starting afresh");
            Conversation::default()
        }),
        None => Conversation::default(),
    })
}

async fn perform(
    store: &Store,
    kb: &Knowledge,
    notifier: &Notifier,
    who: &OpenId,
    conversation: &Conversation,
    action: &Action,
    t: i64,
) -> anyhow::Result<()> {
    match action {
        Action::Handoff { reason, urgent, town } => {
            let village = store.village_of(who).await?;
            let category = conversation
                .last_entry
                .as_deref()
                .and_then(|id| kb.entry(id))
                .map(|e| e.category.clone())
                .unwrap_or_default();
            let new = NewHandoff {
                reason: reason.as_str(),
                urgent: *urgent,
                category: &category,
                village_id: village.as_deref(),
                town_id: town.as_deref(),
            };
            let h = store.open_handoff(who, &new, t).await?;
            tracing::info!(handoff = h.id, reason = reason.as_str(), urgent, "handoff opened");
            notifier.send(DeskEvent::Queue);
        }
        Action::SetVillage(village) => store.set_village(who, village).await?,
        Action::EndHandoff => {
            if let Some(h) = store.open_handoff_of(who).await? {
                store.close_handoff(h.id, "resident", t).await?;
                notifier.send(DeskEvent::Queue);
            }
        }
        Action::Rate { handoff, score } => store.rate_handoff(*handoff, *score, t).await?,
    }
    Ok(())
}
