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
