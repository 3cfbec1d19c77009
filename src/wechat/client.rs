//! Client of WeChat's official-account API: a stable access token cached and refreshed by one
//! caller at a time, and the calls lawline makes (customer-service send, typing, menu, template).

use std::time::{Duration, Instant};

use serde::Deserialize;
use serde_json::{Value, json};
use tokio::sync::Mutex;

use crate::domain::OpenId;

/// Refresh this long before WeChat says the token expires.
const EXPIRY_MARGIN: Duration = Duration::from_secs(120);
/// Error codes that mean "this token is no good; fetch another and try once more".
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("WeChat API error {code}: {message}")]
    Wechat { code: i64, message: String },
    #[error("WeChat API unreachable: {0}")]
    Http(reqwest::Error),
    #[error("WeChat API credentials are not configured")]
    NotConfigured,
}

/// reqwest puts the URL in its errors, and ours carry the access token in the query string.
impl From<reqwest::Error> for ApiError {
    fn from(e: reqwest::Error) -> Self {
        ApiError::Http(e.without_url())
    }
}

impl ApiError {
    pub fn code(&self) -> Option<i64> {
        match self {
            ApiError::Wechat { code, .. } => Some(*code),
            _ => None,
        }
    }

    /// True when trying again later may succeed (network trouble, "system busy", rate limits).
    pub fn is_transient(&self) -> bool {
        match self {
            ApiError::Http(_) => true,
            ApiError::Wechat { code, .. } => matches!(code, -1 | 45009 | 45011),
            ApiError::NotConfigured => false,
        }
    }
}

struct CachedToken {
    value: String,
    refresh_at: Instant,
}

pub struct ApiClient {
    http: reqwest::Client,
    base: String,
    appid: String,
    secret: String,
    token: Mutex<Option<CachedToken>>,
}

#[derive(Deserialize)]
struct TokenResponse {
    access_token: Option<String>,
    expires_in: Option<u64>,
    errcode: Option<i64>,
    errmsg: Option<String>,
}

impl ApiClient {
    pub fn new(base: &str, appid: &str, secret: &str) -> Self {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .expect("a client with these settings builds");
        ApiClient {
            http,
            base: base.trim_end_matches('/').to_owned(),
            appid: appid.to_owned(),
            secret: secret.to_owned(),
            token: Mutex::new(None),
        }
    }

    pub fn is_configured(&self) -> bool {
        !self.appid.is_empty() && !self.secret.is_empty()
    }

    /// The current access token; holding the lock while fetching makes the refresh single-flight.
    async fn access_token(&self, stale: Option<&str>) -> Result<String, ApiError> {
        if !self.is_configured() {
            return Err(ApiError::NotConfigured);
        }
        let mut cached = self.token.lock().await;
        if let Some(t) = cached.as_ref()
            && Instant::now() < t.refresh_at
            && Some(t.value.as_str()) != stale
        {
            return Ok(t.value.clone());
        }
        let mut fresh = self.fetch_token(false).await?;
        // Normal mode hands back the same token while WeChat thinks it is valid;
        // if that is the one just rejected, ask for a new one.
        if Some(fresh.value.as_str()) == stale {
            fresh = self.fetch_token(true).await?;
        }
        let value = fresh.value.clone();
        *cached = Some(fresh);
        Ok(value)
    }

    async fn fetch_token(&self, force_refresh: bool) -> Result<CachedToken, ApiError> {
        let body = json!({
            "grant_type": "client_credential",
            "appid": self.appid,
            "secret": self.secret,
            "force_refresh": force_refresh,
        });
        let resp: TokenResponse =
            self.http.post(format!("{}/cgi-bin/stable_token", self.base)).json(&body).send().await?.json().await?;
        match (resp.access_token, resp.errcode.unwrap_or(0)) {
            (Some(value), 0) => {
                let lifetime = Duration::from_secs(resp.expires_in.unwrap_or(7200));
                tracing::info!(force_refresh, lifetime_s = lifetime.as_secs(), "fetched access token");
                Ok(CachedToken { value, refresh_at: Instant::now() + lifetime.saturating_sub(EXPIRY_MARGIN) })
            }
            (_, code) => Err(ApiError::Wechat { code, message: resp.errmsg.unwrap_or_default() }),
        }
    }

    /// POSTs JSON to an API path with the token; on a token error, refreshes and retries once.
    async fn post(&self, path: &str, body: &Value) -> Result<Value, ApiError> {
        let token = self.access_token(None).await?;
        match self.post_once(path, &token, body).await {
            Err(e) if e.code().is_some_and(|c| TOKEN_ERRORS.contains(&c)) => {
                tracing::warn!(code = e.code(), "access token rejected; refreshing once");
                let token = self.access_token(Some(&token)).await?;
                self.post_once(path, &token, body).await
            }
            other => other,
        }
    }

    async fn post_once(&self, path: &str, token: &str, body: &Value) -> Result<Value, ApiError> {
        let resp: Value = self
            .http
            .post(format!("{}{path}", self.base))
            .query(&[("access_token", token)])
            .json(body)
            .send()
            .await?
            .json()
            .await?;
        match resp.get("errcode").and_then(Value::as_i64).unwrap_or(0) {
            0 => Ok(resp),
            code => Err(ApiError::Wechat {
                code,
                message: resp.get("errmsg").and_then(Value::as_str).unwrap_or_default().to_owned(),
            }),
        }
    }

    /// Customer-service text message (inside the 48-hour window).
    pub async fn send_text(&self, to: &OpenId, content: &str) -> Result<(), ApiError> {
        let body = json!({"touser": to.as_str(), "msgtype": "text", "text": {"content": content}});
        self.post("/cgi-bin/message/custom/send", &body).await.map(drop)
    }

    /// Shows or hides "typing…" to the resident.
    pub async fn typing(&self, to: &OpenId, on: bool) -> Result<(), ApiError> {
        let command = if on { "Typing" } else { "CancelTyping" };
        let body = json!({"touser": to.as_str(), "command": command});
        self.post("/cgi-bin/message/custom/typing", &body).await.map(drop)
    }

    /// Creates the custom menu from WeChat's own JSON shape (`{"button": [...]}`).
    pub async fn create_menu(&self, menu: &Value) -> Result<(), ApiError> {
        self.post("/cgi-bin/menu/create", menu).await.map(drop)
    }

    /// Sends a template message; returns WeChat's msgid.
    pub async fn send_template(&self, message: &Value) -> Result<i64, ApiError> {
        let resp = self.post("/cgi-bin/message/template/send", message).await?;
        Ok(resp.get("msgid").and_then(Value::as_i64).unwrap_or_default())
    }
}
