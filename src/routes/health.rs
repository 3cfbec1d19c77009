use actix_web::{HttpResponse, web};
use serde_json::json;

use crate::startup::AppState;

/// Liveness: the process answers.
pub async fn healthz() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("ok")
}

/// Readiness: the database answers and the knowledge base is loaded.
pub async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let database = state.store.ping().await;
    let entries = state.knowledge().entries.len();
    let body = json!({
        "database": if database { "ok" } else { "unavailable" },
        "index": if entries > 0 { "ok" } else { "empty" },
        "entries": entries,
    });
    if database && entries > 0 { HttpResponse::Ok().json(body) } else { HttpResponse::ServiceUnavailable().json(body) }
}
