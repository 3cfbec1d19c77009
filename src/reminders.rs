//! Reminders the day before an appointment. Scheduled from the database (each booking is
//! marked when reminded, atomically, so a restart or a second instance sends none twice): by
//! customer-service message while the resident's 48-hour window is open, else by template
//! message when a template is configured.

use std::time::Duration;

use actix_web::web;
use chrono::{Duration as Days, Timelike};
use serde_json::json;

use crate::clock;
use crate::dialog::booking::slot_label;
use crate::startup::AppState;
use crate::store::{Appointment, now};

/// Sends the reminders due at `t` (Unix seconds); returns how many were sent or queued.
pub async fn send_due(state: &AppState, t: i64) -> anyhow::Result<usize> {
    let kb = state.knowledge();
    let Some(cfg) = &kb.booking else { return Ok(0) };
    let local = clock::local(t);
    if local.hour() < cfg.settings.reminder_hour {
        return Ok(0);
    }
    let tomorrow = local.date() + Days::days(1);
    let from = clock::unix(tomorrow.and_hms_opt(0, 0, 0).expect("midnight"));
    let due = state.store.due_reminders(from, from + 86_400).await?;
    let mut sent = 0;
    for a in due {
        // Whoever marks it first sends it.
        if !state.store.mark_reminded(a.id, t).await? {
            continue;
        }
        let text = reminder_text(&kb, &a);
        if state.store.window_open(&a.openid, t).await? {
            state.send_to_resident(&a.openid, &text, "bot", None).await?;
            sent += 1;
        } else if let Some(template) = state.settings.wechat.reminder_template_id.as_deref().filter(|s| !s.is_empty()) {
            let point = cfg.point(&a.point).map(|p| p.name.clone()).unwrap_or_default();
            let service = cfg.service(&a.service).map(|s| s.name.clone()).unwrap_or_default();
            let message = json!({
                "touser": a.openid,
                "template_id": template,
                "client_msg_id": format!("reminder-{}", a.id),
                "data": {
                    "thing1": {"value": service},
                    "time2": {"value": slot_label(clock::local(a.slot_start))},
                    "thing3": {"value": point},
                    "character_string4": {"value": a.number},
                },
            });
            match state.client.send_template(&message).await {
                Ok(_) => sent += 1,
                Err(e) => tracing::warn!(appointment = a.id, error = %e, "reminder template not sent"),
            }
        } else {
            tracing::info!(appointment = a.id, "no reminder: the window is closed and no template is configured");
        }
    }
    Ok(sent)
}

pub fn reminder_text(kb: &crate::knowledge::Knowledge, a: &Appointment) -> String {
    let cfg = kb.booking.as_ref();
    let point = cfg.and_then(|c| c.point(&a.point));
    let start = clock::local(a.slot_start);
    kb.bot
        .booking
        .reminder
        .replace("{time}", &start.format("%H:%M").to_string())
        .replace("{point}", point.map(|p| p.name.as_str()).unwrap_or(&a.point))
        .replace("{service}", cfg.and_then(|c| c.service(&a.service)).map(|s| s.name.as_str()).unwrap_or(&a.service))
        .replace("{number}", &a.number)
        .replace("{address}", point.map(|p| p.address.as_str()).unwrap_or_default())
}

/// Checks every minute until the process ends.
pub async fn run(state: web::Data<AppState>) {
    let mut tick = tokio::time::interval(Duration::from_secs(60));
    loop {
        tick.tick().await;
        if let Err(e) = send_due(&state, now()).await {
            tracing::error!(error = %e, "reminders failed");
        }
    }
}
