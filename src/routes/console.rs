//! The advisers' console: the page, and the JSON API behind it (session cookie required):
//! login, the live queue, a conversation's history, claim, reply, transfer, return to the
//! bot, close, canned replies, and server-sent events.

use std::time::Duration;

use actix_web::cookie::{Cookie, SameSite, time::Duration as CookieDuration};
use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{internal, json_error as error};
use crate::auth::{self, Adviser};
use crate::chat::load_conversation;
use crate::desk::{self, DeskEvent, Scope, Viewer};
use crate::dialog::Mode;
use crate::domain::{OpenId, mask};
use crate::startup::AppState;
use crate::store::{Account, Handoff, now};

const PAGE: &str = include_str!("../../static/console.html");
/// Longest adviser reply accepted (it is split into messages of WeChat's size).
const MAX_REPLY_CHARS: usize = 2000;

pub async fn page() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .insert_header(("Cache-Control", "no-store"))
        .insert_header(("X-Content-Type-Options", "nosniff"))
        .insert_header(("Referrer-Policy", "no-referrer"))
        .insert_header(("X-Frame-Options", "DENY"))
        .insert_header(("Content-Security-Policy", "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; connect-src 'self'; img-src data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"))
        .body(PAGE)
}

#[derive(Deserialize)]
pub struct Login {
    username: String,
    password: String,
}

pub async fn login(req: HttpRequest, state: web::Data<AppState>, body: web::Json<Login>) -> HttpResponse {
    // The socket's peer, not a forwarded-for header any client can set.
    let client = req.peer_addr().map(|a| a.ip().to_string()).unwrap_or_else(|| "unknown".into());
    let t = now();
    let store = &state.store;
    let username = body.username.trim();
    match store.failed_logins(username, &client, t - auth::FAILED_WINDOW_SECS).await {
        Ok((user, by_client)) if user >= auth::MAX_FAILED_PER_USER || by_client >= auth::MAX_FAILED_PER_CLIENT => {
            tracing::warn!(username = %mask(username), "login rate-limited");
            return error(StatusCode::TOO_MANY_REQUESTS, "尝试次数过多，请15分钟后再试");
        }
        Ok(_) => {}
        Err(e) => return internal(e),
    }
    let account = match store.account_by_username(username).await {
        Ok(a) => a,
        Err(e) => return internal(e),
    };
    // Verify against a real hash even for unknown users, so timing tells nothing.
    let hash = account.as_ref().map(|a| a.password_hash.clone()).unwrap_or_else(|| DUMMY_HASH.to_owned());
    let password = body.password.clone();
    let ok = web::block(move || auth::verify_password(&password, &hash)).await.unwrap_or(false) && account.is_some();
    if let Err(e) = store.record_login(username, &client, ok, t).await {
        return internal(e);
    }
    let Some(account) = account.filter(|_| ok) else {
        tracing::warn!(username = %mask(username), "login failed");
        return error(StatusCode::UNAUTHORIZED, "用户名或密码不正确");
    };
    let (token, hash) = auth::new_token();
    if let Err(e) = store.create_session(&hash, account.id, t + auth::SESSION_SECS, t).await {
        return internal(e);
    }
    tracing::info!(adviser = %account.username, "logged in");
    let cookie = Cookie::build(auth::SESSION_COOKIE, token)
        .path("/")
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(state.settings.secure_cookies)
        .max_age(CookieDuration::seconds(auth::SESSION_SECS))
        .finish();
    HttpResponse::Ok()
        .cookie(cookie)
        .json(json!({"username": account.username, "display_name": account.display_name, "role": account.role}))
}

/// A valid argon2 hash of a random password, for timing-safe failures.
const DUMMY_HASH: &str =
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Qn4xXjIrrVd0rUG8NeUS7VdlyITGKX5pDa1Jp8S3E+4";

pub async fn logout(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if let Some(c) = req.cookie(auth::SESSION_COOKIE) {
        let _ = state.store.delete_session(&auth::token_hash(c.value())).await;
    }
    let mut gone = Cookie::build(auth::SESSION_COOKIE, "").path("/").finish();
    gone.make_removal();
    HttpResponse::NoContent().cookie(gone).finish()
}

pub async fn me(Adviser(a): Adviser) -> HttpResponse {
    HttpResponse::Ok()
        .json(json!({"username": a.username, "display_name": a.display_name, "role": a.role, "town": a.town_id}))
}

fn viewer(a: &Account) -> Viewer<'_> {
    Viewer { id: a.id, username: &a.username, town_id: a.town_id.as_deref(), admin: a.is_admin() }
}

/// One handoff as the console shows it.
async fn describe(state: &AppState, h: &Handoff, scope: Option<Scope>, t: i64) -> Value {
    let kb = state.knowledge();
    let dir = &kb.directory;
    let village = h.village_id.as_deref().and_then(|v| dir.village(v)).map(|v| v.name.clone());
    let town = desk::town_of(h, dir).and_then(|id| dir.town(id)).map(|t| t.name.clone());
    let last = state.store.last_inbound_text(&h.openid).await.ok().flatten().unwrap_or_default();
    json!({
        "id": h.id,
        "status": h.status,
        "scope": scope,
        "village": village,
        "town": town,
        "category": if h.category.is_empty() { "未分类".to_owned() } else { h.category.clone() },
        "reason": h.reason,
        "urgent": h.urgent,
        "waiting_seconds": (t - h.created_at).max(0),
        "last_message": last,
        "resident": format!("居民 {}", mask(&h.openid)),
    })
}

pub async fn queue(state: web::Data<AppState>, Adviser(a): Adviser) -> HttpResponse {
    let t = now();
    let open = match state.store.open_handoffs().await {
        Ok(h) => h,
        Err(e) => return internal(e),
    };
    let kb = state.knowledge();
    let me = viewer(&a);
    let (mut waiting, mut active) = (vec![], vec![]);
    for h in &open {
        if h.status == "waiting" {
            if let Some(scope) = desk::scope(h, &me, &kb.directory, t) {
                waiting.push(describe(&state, h, Some(scope), t).await);
            }
        } else if h.adviser_id == Some(a.id) {
            active.push(describe(&state, h, None, t).await);
        }
    }
    HttpResponse::Ok().json(json!({"waiting": waiting, "active": active}))
}

/// The handoff, if this adviser may act on it: claimed by them, or any for an admin.
async fn mine(state: &AppState, a: &Account, id: i64) -> Result<Handoff, HttpResponse> {
    match state.store.handoff(id).await {
        Ok(Some(h)) if h.adviser_id == Some(a.id) || a.is_admin() => Ok(h),
        Ok(Some(_)) => Err(error(StatusCode::FORBIDDEN, "这个对话不在您名下，请先接入")),
        Ok(None) => Err(error(StatusCode::NOT_FOUND, "没有这个对话")),
        Err(e) => Err(internal(e)),
    }
}

pub async fn claim(state: web::Data<AppState>, Adviser(a): Adviser, id: web::Path<i64>) -> HttpResponse {
    let t = now();
    let h = match state.store.handoff(*id).await {
        Ok(Some(h)) => h,
        Ok(None) => return error(StatusCode::NOT_FOUND, "没有这个对话"),
        Err(e) => return internal(e),
    };
    let kb = state.knowledge();
    if desk::scope(&h, &viewer(&a), &kb.directory, t).is_none() {
        return error(StatusCode::FORBIDDEN, "这个对话暂时分派给其他顾问");
    }
    match state.store.claim_handoff(h.id, a.id, t).await {
        Ok(true) => {
            tracing::info!(handoff = h.id, adviser = %a.username, "handoff claimed");
            state.notifier.send(DeskEvent::Queue);
            let h = state.store.handoff(h.id).await.ok().flatten().unwrap_or(h);
            HttpResponse::Ok().json(describe(&state, &h, None, t).await)
        }
        Ok(false) => error(StatusCode::CONFLICT, "已被其他顾问接入"),
        Err(e) => internal(e),
    }
}

pub async fn show(state: web::Data<AppState>, Adviser(a): Adviser, id: web::Path<i64>) -> HttpResponse {
    let h = match mine(&state, &a, *id).await {
        Ok(h) => h,
        Err(resp) => return resp,
    };
    let openid = match OpenId::parse(&h.openid) {
        Ok(o) => o,
        Err(e) => return internal(e),
    };
    let messages = match state.store.messages(&openid).await {
        Ok(m) => m,
        Err(e) => return internal(e),
    };
    let messages: Vec<Value> = messages
        .iter()
        .filter(|m| !m.content.is_empty())
        .map(|m| {
            let author = match (m.direction.as_str(), m.kind.as_str()) {
                ("in", _) => "resident",
                (_, "adviser") => "adviser",
                _ => "bot",
            };
            json!({"direction": m.direction, "author": author, "text": m.content, "at": m.created_at})
        })
        .collect();
    let t = now();
    let window_open = state.store.window_open(&h.openid, t).await.unwrap_or(false);
    let held = state.store.held_count(&h.openid).await.unwrap_or_default();
    HttpResponse::Ok().json(json!({
        "handoff": describe(&state, &h, None, t).await,
        "messages": messages,
        "window_open": window_open,
        "held": held,
    }))
}

#[derive(Deserialize)]
pub struct ReplyBody {
    text: String,
}

pub async fn reply(
    state: web::Data<AppState>,
    Adviser(a): Adviser,
    id: web::Path<i64>,
    body: web::Json<ReplyBody>,
) -> HttpResponse {
    let text = body.text.trim();
    if text.is_empty() || text.chars().count() > MAX_REPLY_CHARS {
        return error(StatusCode::BAD_REQUEST, "回复不能为空，最长2000字");
    }
    let h = match mine(&state, &a, *id).await {
        Ok(h) if h.status == "active" => h,
        Ok(_) => return error(StatusCode::CONFLICT, "对话已结束或尚未接入"),
        Err(resp) => return resp,
    };
    match state.send_to_resident(&h.openid, text, "adviser", Some(&a.username)).await {
        Ok(status) => {
            tracing::info!(handoff = h.id, adviser = %a.username, status, "adviser reply accepted");
            HttpResponse::Ok().json(json!({"status": status}))
        }
        Err(e) => internal(e),
    }
}

#[derive(Deserialize)]
pub struct Transfer {
    to: String,
}

pub async fn transfer(
    state: web::Data<AppState>,
    Adviser(a): Adviser,
    id: web::Path<i64>,
    body: web::Json<Transfer>,
) -> HttpResponse {
    let h = match mine(&state, &a, *id).await {
        Ok(h) if h.status != "closed" => h,
        Ok(_) => return error(StatusCode::CONFLICT, "对话已结束"),
        Err(resp) => return resp,
    };
    let (level, target) = match body.to.as_str() {
        "town" | "district" => (body.to.as_str(), None),
        other => match other.strip_prefix("adviser:") {
            Some(username) => match state.store.account_by_username(username).await {
                Ok(Some(target)) => ("adviser", Some(target.id)),
                Ok(None) => return error(StatusCode::BAD_REQUEST, "没有这个顾问"),
                Err(e) => return internal(e),
            },
            None => {
                return error(StatusCode::BAD_REQUEST, "to 应为 town、district 或 adviser:<用户名>");
            }
        },
    };
    let holder = (!a.is_admin()).then_some(a.id);
    match state.store.transfer_handoff(h.id, level, target, holder, now()).await {
        Ok(false) => error(StatusCode::CONFLICT, "对话已结束或已不在您名下"),
        Ok(true) => {
            tracing::info!(handoff = h.id, adviser = %a.username, to = %body.to, "handoff transferred");
            state.notifier.send(DeskEvent::Queue);
            HttpResponse::Ok().json(json!({"status": "transferred"}))
        }
        Err(e) => internal(e),
    }
}

/// Ends the handoff: `back_to_bot` hands the resident back to the bot, otherwise the
/// adviser closes it and the resident is asked for a rating.
async fn finish(state: web::Data<AppState>, a: Account, id: i64, back_to_bot: bool) -> HttpResponse {
    let h = match mine(&state, &a, id).await {
        Ok(h) if h.status != "closed" => h,
        Ok(_) => return error(StatusCode::CONFLICT, "对话已结束"),
        Err(resp) => return resp,
    };
    let result = async {
        let who = OpenId::parse(&h.openid)?;
        let t = now();
        let holder = (!a.is_admin()).then_some(a.id);
        if !state.store.close_handoff(h.id, if back_to_bot { "bot" } else { "adviser" }, holder, t).await? {
            return Ok(false);
        }
        let mut conversation = load_conversation(&state.store, &who).await?;
        conversation.mode = if back_to_bot { Mode::Bot } else { Mode::AwaitingRating { handoff: h.id } };
        state.store.save_conversation(&who, &serde_json::to_string(&conversation)?, t).await?;
        let kb = state.knowledge();
        let text = if back_to_bot { &kb.bot.human.returned } else { &kb.bot.human.closed };
        state.send_to_resident(&h.openid, text, "bot", None).await?;
        anyhow::Ok(true)
    }
    .await;
    match result {
        Ok(false) => error(StatusCode::CONFLICT, "对话已结束"),
        Ok(true) => {
            tracing::info!(handoff = h.id, adviser = %a.username, back_to_bot, "handoff ended");
            state.notifier.send(DeskEvent::Queue);
            HttpResponse::Ok().json(json!({"status": if back_to_bot { "returned" } else { "closed" }}))
        }
        Err(e) => internal(e),
    }
}

pub async fn return_to_bot(state: web::Data<AppState>, Adviser(a): Adviser, id: web::Path<i64>) -> HttpResponse {
    finish(state, a, *id, true).await
}

pub async fn close(state: web::Data<AppState>, Adviser(a): Adviser, id: web::Path<i64>) -> HttpResponse {
    finish(state, a, *id, false).await
}

pub async fn canned(state: web::Data<AppState>, _: Adviser) -> HttpResponse {
    HttpResponse::Ok().json(&state.knowledge().canned)
}

pub async fn advisers(state: web::Data<AppState>, _: Adviser) -> HttpResponse {
    match state.store.accounts().await {
        Ok(list) => HttpResponse::Ok().json(
            list.iter().map(|a| json!({"username": a.username, "display_name": a.display_name})).collect::<Vec<_>>(),
        ),
        Err(e) => internal(e),
    }
}

/// Server-sent events: `queue` when the queue changes, `message` when a resident writes.
pub async fn events(state: web::Data<AppState>, _: Adviser) -> HttpResponse {
    let rx = state.notifier.subscribe();
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        let chunk = match tokio::time::timeout(Duration::from_secs(15), rx.recv()).await {
            Ok(Ok(DeskEvent::Queue)) => "event: queue\ndata: {}\n\n".to_owned(),
            Ok(Ok(DeskEvent::Message { handoff_id })) => {
                format!("event: message\ndata: {{\"handoff_id\":{handoff_id}}}\n\n")
            }
            // Missed events: tell the console to reload everything.
            Ok(Err(tokio::sync::broadcast::error::RecvError::Lagged(_))) => "event: queue\ndata: {}\n\n".to_owned(),
            Ok(Err(tokio::sync::broadcast::error::RecvError::Closed)) => return None,
            // Keeps proxies from closing an idle stream.
            Err(_) => ": keep-alive\n\n".to_owned(),
        };
        Some((Ok::<_, actix_web::Error>(web::Bytes::from(chunk)), rx))
    });
    HttpResponse::Ok()
        .content_type("text/event-stream")
        .insert_header(("Cache-Control", "no-cache"))
        .insert_header(("X-Accel-Buffering", "no"))
        .streaming(stream)
}
