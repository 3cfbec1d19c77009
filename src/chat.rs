//! The shell around the dialogue engine: everything one inbound message causes besides the
//! reply itself: resident and conversation state, the message log, held replies released,
//! handoffs opened or closed, the advisers' consoles told.

use std::sync::Arc;

use crate::clock;
use crate::desk::{DeskEvent, Notifier};
use crate::dialog::{self, Action, Context, Conversation, Input, Mode};
use crate::domain::OpenId;
use crate::knowledge::Knowledge;
use crate::store::{Direction, NewAppointment, NewHandoff, Store, now};
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

    let mut conversation = load_conversation(store, who).await?;
    // The handoff was closed meanwhile (by the adviser, as this message came in): back to the bot.
    if conversation.mode == Mode::Human && store.open_handoff_of(who).await?.is_none() {
        conversation.mode = Mode::Bot;
    }
    let village = store.village_of(who).await?;
    let waiting = store.waiting_count().await?;
    let taken = if kb.booking.is_some() { store.taken_seats(t).await? } else { Default::default() };
    let upcoming = store.upcoming(who, t).await?;
    let ctx = Context {
        kb,
        now: clock::local(t),
        waiting: waiting as usize,
        village: village.as_deref(),
        taken: &taken,
        upcoming: &upcoming,
    };
    let mut outcome = dialog::handle(&conversation, &input, &ctx);
    // A booking's reply depends on whether the seat is really still free.
    if let Some(action) = outcome.actions.iter().find(|a| matches!(a, Action::Book { .. })).cloned() {
        outcome = book(store, kb, who, &outcome.conversation, &action, &ctx, t).await?;
    }
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
                store.close_handoff(h.id, "resident", None, t).await?;
                notifier.send(DeskEvent::Queue);
            }
        }
        Action::Rate { handoff, score } => store.rate_handoff(*handoff, *score, t).await?,
        Action::Book { .. } => {}
        Action::CancelAppointment { id } => {
            if let Some(a) = store.appointment(*id).await?
                && a.openid == who.as_str()
                && store.set_appointment_status(*id, "cancelled", Some("居民取消"), t).await?
            {
                tracing::info!(appointment = id, "cancelled by the resident");
                offer_freed_seat(store, kb, &a.service, &a.point, t).await?;
            }
        }
        Action::JoinWaitlist { service, point } => store.join_waitlist(who, service, point, t).await?,
    }
    Ok(())
}

/// Takes the seat (or finds it gone) and says so.
async fn book(
    store: &Store,
    kb: &Knowledge,
    who: &OpenId,
    conversation: &Conversation,
    action: &Action,
    ctx: &Context<'_>,
    t: i64,
) -> anyhow::Result<dialog::Outcome> {
    let Action::Book { service, point, slot, name, phone, matter, reschedule } = action else { unreachable!() };
    let capacity = kb.booking.as_ref().map(|c| c.seats(point, service)).unwrap_or(0);
    let new = NewAppointment { openid: who, service, point, slot_start: *slot, name, phone, matter };
    let number = crate::booking::new_number(clock::local(t));
    match store.book(&new, capacity, &number, t).await? {
        Some(a) => {
            tracing::info!(appointment = a.id, service = %service, point = %point, "booked");
            if let Some(old) = reschedule
                && let Some(prev) = store.appointment(*old).await?
                && prev.openid == who.as_str()
                && store.set_appointment_status(*old, "cancelled", Some("居民改约"), t).await?
            {
                offer_freed_seat(store, kb, &prev.service, &prev.point, t).await?;
            }
            Ok(dialog::booking::booked(conversation, &a, ctx))
        }
        None => {
            tracing::info!(service = %service, point = %point, "slot full at booking time");
            let taken = store.taken_seats(t).await?;
            let fresh = Context { taken: &taken, ..*ctx };
            Ok(dialog::booking::slot_taken(conversation, &fresh))
        }
    }
}

/// A seat came free: tell the first resident on the waitlist.
pub async fn offer_freed_seat(store: &Store, kb: &Knowledge, service: &str, point: &str, t: i64) -> anyhow::Result<()> {
    let Some(cfg) = &kb.booking else { return Ok(()) };
    let Some(openid) = store.next_on_waitlist(service, point, t).await? else { return Ok(()) };
    let taken = store.taken_seats(t).await?;
    let first = cfg
        .free_slots(point, service, clock::local(t), &kb.directory, &taken)
        .first()
        .map(|s| dialog::booking::slot_label(s.start))
        .unwrap_or_default();
    let text = kb
        .bot
        .booking
        .seat_freed
        .replace("{service}", cfg.service(service).map(|s| s.name.as_str()).unwrap_or(service))
        .replace("{point}", cfg.point(point).map(|p| p.name.as_str()).unwrap_or(point))
        .replace("{slot}", &first);
    let who = OpenId::parse(&openid)?;
    store.log_message(&who, Direction::Out, "bot", &text, None, None, t).await?;
    store.enqueue(&who, &serde_json::to_string(&Reply::text(text))?, t).await?;
    tracing::info!("waitlisted resident offered a freed seat");
    Ok(())
}
