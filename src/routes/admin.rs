//! The admin JSON API, behind `Authorization: Bearer <LAWLINE_ADMIN_TOKEN>`.

use actix_web::{HttpRequest, HttpResponse, web};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::json;
use subtle::ConstantTimeEq;

use crate::startup::AppState;

fn authorized(req: &HttpRequest, state: &AppState) -> bool {
    let expected = state.settings.admin_token.expose_secret();
    let given = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    !expected.is_empty() && given.len() == expected.len() && bool::from(given.as_bytes().ct_eq(expected.as_bytes()))
}

fn unauthorized() -> HttpResponse {
    HttpResponse::Unauthorized()
        .insert_header(("WWW-Authenticate", "Bearer"))
        .json(json!({"error": "a valid admin token is required"}))
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: String,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    5
}

/// Hit testing: what the bot would decide for `q`, and the ranked entries.
pub async fn search(req: HttpRequest, state: web::Data<AppState>, query: web::Query<SearchQuery>) -> HttpResponse {
    if !authorized(&req, &state) {
        return unauthorized();
    }
    let kb = state.knowledge();
    let found = kb.search(&query.q, query.limit.clamp(1, 20));
    let hits: Vec<_> = found
        .hits
        .iter()
        .map(|h| {
            let e = &kb.entries[h.entry];
            json!({"id": e.id, "title": e.question, "score": h.score, "coverage": h.coverage})
        })
        .collect();
    HttpResponse::Ok().json(json!({"decision": found.decision, "hits": hits}))
}

/// The knowledge base's state (entries, last load, problems of a failed reload) and the outbox.
pub async fn status(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !authorized(&req, &state) {
        return unauthorized();
    }
    let knowledge = state.reload_status.lock().expect("status lock").clone();
    let outbox: serde_json::Map<String, serde_json::Value> = match state.store.outbox_counts().await {
        Ok(counts) => counts.into_iter().map(|(k, n)| (k, json!(n))).collect(),
        Err(e) => {
            tracing::error!(error = %e, "outbox counts unavailable");
            serde_json::Map::new()
        }
    };
    HttpResponse::Ok().json(json!({"knowledge": knowledge, "outbox": outbox}))
}

/// Reloads `faq/` now: 200 with the new counts, or 422 with every problem (the old knowledge
/// base keeps serving).
pub async fn reload(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !authorized(&req, &state) {
        return unauthorized();
    }
    match crate::reload::reload(&state).await {
        Ok(status) => HttpResponse::Ok().json(json!({"status": "ok", "knowledge": status})),
        Err(problems) => HttpResponse::UnprocessableEntity().json(json!({
            "status": "invalid",
            "problems": problems.iter().map(ToString::to_string).collect::<Vec<_>>(),
        })),
    }
}
