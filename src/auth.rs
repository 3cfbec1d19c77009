//! Accounts for advisers and admins: argon2 password hashes, session cookies (random tokens,
//! stored hashed, expiring), login rate limits, and the extractor that guards console routes.

use std::future::Future;
use std::pin::Pin;

use actix_web::{FromRequest, HttpRequest, ResponseError, dev::Payload, http::StatusCode, web};
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString, rand_core::OsRng};
use sha2::{Digest, Sha256};

use crate::startup::AppState;
use crate::store::{Account, now};

pub const SESSION_COOKIE: &str = "lawline_session";
pub const SESSION_SECS: i64 = 12 * 3600;
/// Failed logins allowed per username, and per client address, in the window.
pub const MAX_FAILED_PER_USER: i64 = 5;
pub const MAX_FAILED_PER_CLIENT: i64 = 20;
pub const FAILED_WINDOW_SECS: i64 = 15 * 60;
pub const MIN_PASSWORD_CHARS: usize = 8;

pub fn hash_password(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    Ok(Argon2::default().hash_password(password.as_bytes(), &salt).map_err(|e| anyhow::anyhow!("{e}"))?.to_string())
}

pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| Argon2::default().verify_password(password.as_bytes(), &h).is_ok())
}

/// A new session token (for the cookie) and its hash (for the database).
pub fn new_token() -> (String, String) {
    let token = hex::encode(rand::random::<[u8; 32]>());
    let hash = token_hash(&token);
    (token, hash)
}

pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("login required")]
    Unauthenticated,
    #[error("this needs the admin role")]
    Forbidden,
    #[error("internal error")]
    Internal,
}

impl ResponseError for AuthError {
    fn status_code(&self) -> StatusCode {
        match self {
            AuthError::Unauthenticated => StatusCode::UNAUTHORIZED,
            AuthError::Forbidden => StatusCode::FORBIDDEN,
            AuthError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> actix_web::HttpResponse {
        actix_web::HttpResponse::build(self.status_code()).json(serde_json::json!({"error": self.to_string()}))
    }
}

/// A logged-in adviser or admin; a route that takes one refuses requests without a session.
#[derive(Debug, Clone)]
pub struct Adviser(pub Account);

/// A logged-in admin.
#[derive(Debug, Clone)]
pub struct Admin(pub Account);

async fn account_of(req: HttpRequest) -> Result<Account, AuthError> {
    let state = req.app_data::<web::Data<AppState>>().ok_or(AuthError::Internal)?;
    let token = req.cookie(SESSION_COOKIE).ok_or(AuthError::Unauthenticated)?;
    state
        .store
        .session_account(&token_hash(token.value()), now())
        .await
        .map_err(|e| {
            tracing::error!(error = %e, "session lookup failed");
            AuthError::Internal
        })?
        .ok_or(AuthError::Unauthenticated)
}

impl FromRequest for Adviser {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move { account_of(req).await.map(Adviser) })
    }
}

impl FromRequest for Admin {
    type Error = AuthError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let account = account_of(req).await?;
            if account.is_admin() { Ok(Admin(account)) } else { Err(AuthError::Forbidden) }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_and_verify() {
        let h = hash_password("Secret-Pass-123").unwrap();
        assert!(h.starts_with("$argon2"));
        assert!(verify_password("Secret-Pass-123", &h));
        assert!(!verify_password("secret-pass-123", &h));
        assert!(!verify_password("x", "not a hash"));
        let (token, hash) = new_token();
        assert_eq!(token.len(), 64);
        assert_eq!(token_hash(&token), hash);
        assert_ne!(new_token().0, token);
    }
}
