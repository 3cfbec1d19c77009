//! HTTP routes: the WeChat webhook, health checks, and the admin JSON API.

pub mod admin;
pub mod bookings;
pub mod console;
pub mod health;
pub mod wechat;

use actix_web::HttpResponse;
use actix_web::http::StatusCode;

/// A JSON error the console shows as it is: `{"error": "…"}`.
pub(crate) fn json_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).json(serde_json::json!({"error": message}))
}

/// An unexpected failure: the cause goes to the log, the client sees a plain message.
pub(crate) fn internal(e: impl std::fmt::Display) -> HttpResponse {
    tracing::error!(error = %e, "request failed");
    json_error(StatusCode::INTERNAL_SERVER_ERROR, "internal error")
}
