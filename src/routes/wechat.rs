//! The webhook WeChat calls: URL verification (GET) and message delivery (POST), in plaintext,
//! compatible or safe mode. Signatures are checked before anything else; each delivery is
//! processed once; an answer not ready by the deadline goes by the customer-service API.

use std::time::Duration;

use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError, web};
use secrecy::ExposeSecret;
use serde::Deserialize;
use tracing::Instrument;

use crate::chat;
use crate::domain::MsgKey;
use crate::startup::AppState;
use crate::store::{Claim, now};
use crate::wechat::message::Fields;
use crate::wechat::{Inbound, Reply, crypto, reply, signature};

/// How long messages after the passive reply wait, so that they arrive in order.
const FOLLOW_UP_DELAY_SECS: i64 = 1;

#[derive(Debug, thiserror::Error)]
pub enum WebhookError {
    #[error("invalid signature")]
    Signature,
    #[error("bad request: {0}")]
    BadRequest(String),
    #[error("internal error")]
    Internal(#[from] anyhow::Error),
}

impl ResponseError for WebhookError {
    fn status_code(&self) -> StatusCode {
        match self {
            WebhookError::Signature => StatusCode::FORBIDDEN,
            WebhookError::BadRequest(_) => StatusCode::BAD_REQUEST,
            WebhookError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// A short plain message; the cause stays in the log.
    fn error_response(&self) -> HttpResponse {
        let text = match self {
            WebhookError::Signature => "invalid signature",
            WebhookError::BadRequest(_) => "bad request",
            WebhookError::Internal(_) => "internal error",
        };
        HttpResponse::build(self.status_code()).content_type("text/plain").body(text)
    }
}

impl From<sqlx::Error> for WebhookError {
    fn from(e: sqlx::Error) -> Self {
        WebhookError::Internal(e.into())
    }
}

#[derive(Deserialize)]
pub struct Verification {
    signature: String,
    timestamp: String,
    nonce: String,
    echostr: String,
}

/// GET: WeChat checks that this server knows the token; echo `echostr` only when it does.
pub async fn verify(state: web::Data<AppState>, q: web::Query<Verification>) -> Result<HttpResponse, WebhookError> {
    let token = state.settings.wechat.token.expose_secret();
    if !signature::verify(&q.signature, &[token, &q.timestamp, &q.nonce]) {
        tracing::warn!("URL verification with a wrong signature");
        return Err(WebhookError::Signature);
    }
    Ok(HttpResponse::Ok().content_type("text/plain").body(q.echostr.clone()))
}

#[derive(Deserialize)]
pub struct Delivery {
    signature: String,
    timestamp: String,
    nonce: String,
    encrypt_type: Option<String>,
    msg_signature: Option<String>,
}

/// POST: one message or event.
pub async fn receive(
    state: web::Data<AppState>,
    q: web::Query<Delivery>,
    body: web::Bytes,
) -> Result<HttpResponse, WebhookError> {
    let token = state.settings.wechat.token.expose_secret();
    if !signature::verify(&q.signature, &[token, &q.timestamp, &q.nonce]) {
        tracing::warn!("delivery with a wrong signature rejected");
        return Err(WebhookError::Signature);
    }
    let body = std::str::from_utf8(&body).map_err(|_| bad("the body is not UTF-8"))?;
    let safe_mode = q.encrypt_type.as_deref().is_some_and(|t| t == "aes");
    let (xml, key_index) = if safe_mode {
        let keys = &state.aes_keys;
        if keys.is_empty() {
            return Err(bad("safe mode is not configured (LAWLINE_WECHAT_AES_KEY)"));
        }
        let outer = Fields::parse(body).map_err(|e| bad(&e.to_string()))?;
        let encrypted = outer.get("Encrypt").ok_or_else(|| bad("no Encrypt field"))?;
        let msg_signature = q.msg_signature.as_deref().unwrap_or_default();
        if !signature::verify(msg_signature, &[token, &q.timestamp, &q.nonce, encrypted]) {
            tracing::warn!("safe-mode delivery with a wrong msg_signature rejected");
            return Err(WebhookError::Signature);
        }
        let (xml, i) =
            crypto::decrypt_any(keys, &state.settings.wechat.appid, encrypted).map_err(|e| bad(&e.to_string()))?;
        (xml, Some(i))
    } else {
        (body.to_owned(), None)
    };
    let inbound = Inbound::parse(&xml).map_err(|e| bad(&e.to_string()))?;

    let span =
        tracing::info_span!("message", openid = %inbound.from, kind = inbound.kind(), key = %key_label(&inbound.key()));
    let Some(reply) = reply_for(&state, inbound.clone()).instrument(span).await? else {
        return Ok(success());
    };
    let xml = reply.to_xml(inbound.from.as_str(), &inbound.to, now());
    let out = match key_index {
        Some(i) => reply::encrypted_envelope(
            &state.aes_keys[i],
            &state.settings.wechat.appid,
            token,
            &xml,
            &q.timestamp,
            &q.nonce,
        ),
        None => xml,
    };
    Ok(HttpResponse::Ok().content_type("application/xml; charset=utf-8").body(out))
}

fn bad(reason: &str) -> WebhookError {
    tracing::warn!(reason, "bad delivery");
    WebhookError::BadRequest(reason.to_owned())
}

/// The literal body WeChat takes as "received, nothing to say".
fn success() -> HttpResponse {
    HttpResponse::Ok().content_type("text/plain").body("success")
}

/// Event keys contain the OpenID; log only the message id or the event name.
fn key_label(key: &MsgKey) -> String {
    match key.as_str().strip_prefix("evt:") {
        Some(rest) => format!("evt:{}", rest.rsplit(':').next().unwrap_or_default()),
        None => key.as_str().to_owned(),
    }
}

/// The passive reply for this delivery, or None for `success`. Processes the delivery at
/// most once; WeChat's retries get the reply already given.
async fn reply_for(state: &web::Data<AppState>, inbound: Inbound) -> Result<Option<Reply>, WebhookError> {
    let key = inbound.key();
    let deadline = Duration::from_millis(state.settings.wechat.reply_deadline_ms);
    match state.store.claim_delivery(&key, &inbound.from, now()).await? {
        Claim::New => {}
        Claim::Replied(json) => {
            tracing::info!("retry of a message already answered: same reply");
            return Ok(serde_json::from_str(&json).ok());
        }
        Claim::Pending => {
            tracing::info!("retry of a message still in progress or answered by the outbox");
            return Ok(wait_for_reply(state, &key, deadline).await);
        }
    }

    // The work runs in its own task so that a slow answer is finished and sent later
    // rather than lost when the deadline passes.
    let (tx, mut rx) = tokio::sync::oneshot::channel::<Option<Reply>>();
    let task_state = state.clone();
    let task_key = key.clone();
    let work = async move {
        let st = task_state;
        let kb = st.knowledge();
        let who = inbound.from.clone();
        match chat::process(&st.store, &kb, &st.notifier, &inbound).await {
            // The handler gave up waiting: everything goes by the outbox, in order.
            Ok(replies) if tx.is_closed() => {
                tracing::info!("answer missed the deadline: sending it through the customer-service API");
                if let Err(e) = st.defer(&who, &task_key, &replies).await {
                    tracing::error!(error = %e, "could not queue a late answer");
                }
            }
            Ok(replies) => {
                // Recorded here, not in the request, so that no bookkeeping runs past WeChat's
                // deadline: the first reply goes back passively, the others follow by the outbox.
                let mut replies = replies.into_iter();
                let first = replies.next();
                let rest: Vec<Reply> = replies.collect();
                let recorded = async {
                    st.enqueue(&who, &rest, FOLLOW_UP_DELAY_SECS).await?;
                    let stored = first.as_ref().map(serde_json::to_string).transpose()?;
                    st.store.finish_delivery(&task_key, stored.as_deref(), now()).await?;
                    anyhow::Ok(())
                }
                .await;
                if let Err(e) = recorded {
                    tracing::error!(error = %e, "could not record the delivery");
                }
                if let Err(Some(late)) = tx.send(first) {
                    tracing::info!("answer missed the deadline by a hair: sending it by the outbox");
                    if let Err(e) = st.defer(&who, &task_key, &[late]).await {
                        tracing::error!(error = %e, "could not queue a late answer");
                    }
                }
            }
            Err(e) if tx.is_closed() => {
                // WeChat already had `success` and will not retry: say so rather than nothing.
                tracing::error!(error = %e, "processing failed after the deadline; apologising");
                let busy = [Reply::text(kb.bot.busy.clone())];
                if let Err(e) = st.defer(&who, &task_key, &busy).await {
                    tracing::error!(error = %e, "could not queue the apology");
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "processing failed; WeChat's retry will try again");
                let _ = st.store.release_delivery(&task_key).await;
            }
        }
    };
    tokio::spawn(work.instrument(tracing::Span::current()));

    match tokio::time::timeout(deadline, &mut rx).await {
        Ok(Ok(first)) => Ok(first),
        Ok(Err(_)) => Err(WebhookError::Internal(anyhow::anyhow!("processing failed"))),
        Err(_) => {
            // Close first, then look: an answer that arrived in between is still used here.
            rx.close();
            Ok(rx.try_recv().ok().flatten())
        }
    }
}

/// A retry that arrives while the first delivery is still being processed waits a little
/// for its reply; if none comes, the outbox delivers it.
async fn wait_for_reply(state: &web::Data<AppState>, key: &MsgKey, deadline: Duration) -> Option<Reply> {
    let start = tokio::time::Instant::now();
    while start.elapsed() < deadline {
        match state.store.delivery_status(key).await {
            Ok(Claim::Replied(json)) => return serde_json::from_str(&json).ok(),
            Ok(Claim::Pending) => tokio::time::sleep(Duration::from_millis(100)).await,
            _ => return None,
        }
    }
    None
}
