//! Bookings for staff in the console (session required): a day's bookings per service point,
//! arrival outcomes, cancellation with a reason sent to the resident, and (admins) CSV export.

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, web};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::json;

use super::{internal, json_error};
use crate::auth::{Admin, Adviser};
use crate::clock;
use crate::dialog::booking::slot_label;
use crate::startup::AppState;
use crate::store::{Account, Appointment, now};

#[derive(Deserialize)]
pub struct Day {
    /// YYYY-MM-DD, local time; today when absent.
    date: Option<String>,
    point: Option<String>,
}

fn bad(message: &str) -> HttpResponse {
    json_error(StatusCode::BAD_REQUEST, message)
}

/// Staff see the bookings of their own town's points; staff without a town those of the
/// district's points (no town); admins all.
fn may_see(state: &AppState, who: &Account, a: &Appointment) -> bool {
    let kb = state.knowledge();
    let town = kb.booking.as_ref().and_then(|c| c.point(&a.point)).and_then(|p| p.town.clone());
    who.is_admin() || town == who.town_id
}

async fn day_list(state: &AppState, who: &Account, q: &Day) -> Result<Vec<Appointment>, HttpResponse> {
    let date = match &q.date {
        Some(d) => NaiveDate::parse_from_str(d, "%Y-%m-%d").map_err(|_| bad("date 应为 YYYY-MM-DD"))?,
        None => clock::local(now()).date(),
    };
    let from = clock::unix(date.and_hms_opt(0, 0, 0).expect("midnight"));
    let point = q.point.as_deref().filter(|p| !p.is_empty());
    let list = state.store.appointments_between(point, from, from + 86_400).await.map_err(internal)?;
    Ok(list.into_iter().filter(|a| may_see(state, who, a)).collect())
}

/// The booking, if this staff member may act on it.
async fn visible(state: &AppState, who: &Account, id: i64) -> Result<Appointment, HttpResponse> {
    match state.store.appointment(id).await {
        Ok(Some(a)) if may_see(state, who, &a) => Ok(a),
        Ok(Some(_)) => Err(json_error(StatusCode::FORBIDDEN, "这个预约不在您的服务点")),
        Ok(None) => Err(json_error(StatusCode::NOT_FOUND, "没有这个预约")),
        Err(e) => Err(internal(e)),
    }
}

fn names(state: &AppState, a: &Appointment) -> (String, String) {
    let kb = state.knowledge();
    let cfg = kb.booking.as_ref();
    (
        cfg.and_then(|c| c.service(&a.service)).map(|s| s.name.clone()).unwrap_or_else(|| a.service.clone()),
        cfg.and_then(|c| c.point(&a.point)).map(|p| p.name.clone()).unwrap_or_else(|| a.point.clone()),
    )
}

pub async fn list(state: web::Data<AppState>, Adviser(who): Adviser, q: web::Query<Day>) -> HttpResponse {
    let list = match day_list(&state, &who, &q).await {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let items: Vec<_> = list
        .iter()
        .map(|a| {
            let (service, point) = names(&state, a);
            json!({
                "id": a.id, "number": a.number, "service": service, "point": point, "point_id": a.point,
                "time": slot_label(clock::local(a.slot_start)), "name": a.name, "phone": a.phone,
                "matter": a.matter, "status": a.status, "cancel_reason": a.cancel_reason,
            })
        })
        .collect();
    HttpResponse::Ok().json(items)
}

#[derive(Deserialize)]
pub struct Status {
    status: String,
}

pub async fn set_status(
    state: web::Data<AppState>,
    Adviser(who): Adviser,
    id: web::Path<i64>,
    body: web::Json<Status>,
) -> HttpResponse {
    if !["arrived", "no_show", "done"].contains(&body.status.as_str()) {
        return bad("status 应为 arrived、no_show 或 done");
    }
    if let Err(resp) = visible(&state, &who, *id).await {
        return resp;
    }
    match state.store.set_appointment_status(*id, &body.status, None, now()).await {
        Ok(true) => {
            tracing::info!(appointment = *id, status = %body.status, staff = %who.username, "appointment status set");
            HttpResponse::Ok().json(json!({"status": body.status}))
        }
        Ok(false) => json_error(StatusCode::CONFLICT, "预约不存在或已取消"),
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct Cancel {
    reason: String,
}

/// Cancels with a reason, tells the resident, and offers the seat to the waitlist.
pub async fn cancel(
    state: web::Data<AppState>,
    Adviser(who): Adviser,
    id: web::Path<i64>,
    body: web::Json<Cancel>,
) -> HttpResponse {
    let reason = body.reason.trim();
    if reason.is_empty() || reason.chars().count() > 200 {
        return bad("请填写取消原因（200字以内）");
    }
    let a = match visible(&state, &who, *id).await {
        Ok(a) => a,
        Err(resp) => return resp,
    };
    let result = async {
        let t = now();
        if !state.store.set_appointment_status(a.id, "cancelled", Some(reason), t).await? {
            return anyhow::Ok(false);
        }
        let kb = state.knowledge();
        let text = kb
            .bot
            .booking
            .staff_cancelled
            .replace("{number}", &a.number)
            .replace("{slot}", &slot_label(clock::local(a.slot_start)))
            .replace("{reason}", reason);
        state.send_to_resident(&a.openid, &text, "bot", None).await?;
        crate::chat::offer_freed_seat(&state.store, &kb, &a.service, &a.point, t).await?;
        tracing::info!(appointment = a.id, staff = %who.username, "appointment cancelled by staff");
        Ok(true)
    }
    .await;
    match result {
        Ok(true) => HttpResponse::Ok().json(json!({"status": "cancelled"})),
        Ok(false) => json_error(StatusCode::CONFLICT, "预约不存在或已不是待办状态"),
        Err(e) => internal(e),
    }
}

/// A day's bookings as CSV (admins only).
pub async fn csv(state: web::Data<AppState>, Admin(who): Admin, q: web::Query<Day>) -> HttpResponse {
    let list = match day_list(&state, &who, &q).await {
        Ok(l) => l,
        Err(resp) => return resp,
    };
    let mut out = csv::Writer::from_writer(vec![]);
    let header = ["预约号", "时间", "服务", "服务点", "姓名", "电话", "事项", "状态", "取消原因"];
    let mut rows: Vec<Vec<String>> = vec![header.iter().map(|s| s.to_string()).collect()];
    for a in &list {
        let (service, point) = names(&state, a);
        rows.push(vec![
            a.number.clone(),
            clock::local(a.slot_start).format("%Y-%m-%d %H:%M").to_string(),
            service,
            point,
            a.name.clone(),
            a.phone.clone(),
            a.matter.clone(),
            a.status.clone(),
            a.cancel_reason.clone().unwrap_or_default(),
        ]);
    }
    for row in rows {
        // A cell starting with = + - @ would run as a formula in a spreadsheet.
        let row: Vec<String> = row
            .into_iter()
            .map(|c| if c.starts_with(['=', '+', '-', '@', '\t', '\r']) { format!("'{c}") } else { c })
            .collect();
        if let Err(e) = out.write_record(&row) {
            return internal(e);
        }
    }
    let body = match out.into_inner() {
        Ok(b) => b,
        Err(e) => return internal(e),
    };
    // A BOM so that spreadsheet programs read the Chinese as UTF-8.
    let mut bytes = "\u{feff}".as_bytes().to_vec();
    bytes.extend(body);
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(("Content-Disposition", "attachment; filename=\"bookings.csv\""))
        .body(bytes)
}
