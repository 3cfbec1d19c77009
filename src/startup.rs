//! Builds the application from settings (the same way in `main` and in tests): loads the
//! knowledge base, connects and migrates the database, binds the listener, starts the
//! outbox worker.

use std::net::TcpListener;
use std::sync::{Arc, Mutex, RwLock};

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};
use secrecy::ExposeSecret;

use crate::configuration::Settings;
use crate::desk::Notifier;
use crate::domain::{MsgKey, OpenId};
use crate::knowledge::Knowledge;
use crate::outbox::{self, Wakeup};
use crate::reload::{self, ReloadStatus};
use crate::routes;
use crate::store::{Store, now};
use crate::wechat::{ApiClient, Reply, crypto::AesKey};

/// WeChat bodies are small; anything larger is refused with 413.
pub const MAX_BODY_BYTES: usize = 64 * 1024;

/// What every request handler shares.
pub struct AppState {
    pub settings: Settings,
    pub store: Store,
    knowledge: RwLock<Arc<Knowledge>>,
    pub client: Arc<ApiClient>,
    /// Current EncodingAESKey first, then the previous one during a rotation.
    pub aes_keys: Vec<AesKey>,
    pub wakeup: Wakeup,
    pub reload_status: Mutex<ReloadStatus>,
    /// Live events for the advisers' consoles.
    pub notifier: Notifier,
}

impl AppState {
    /// The knowledge base in force; a reload swaps it without disturbing readers.
    pub fn knowledge(&self) -> Arc<Knowledge> {
        self.knowledge.read().expect("knowledge lock poisoned").clone()
    }

    pub fn replace_knowledge(&self, kb: Knowledge) {
        *self.knowledge.write().expect("knowledge lock poisoned") = Arc::new(kb);
    }

    /// Queues replies for the customer-service API, due after `delay_secs`, and wakes the worker.
    pub async fn enqueue(&self, to: &OpenId, replies: &[Reply], delay_secs: i64) -> anyhow::Result<()> {
        for reply in replies {
            self.store.enqueue(to, &serde_json::to_string(reply)?, now() + delay_secs).await?;
        }
        if !replies.is_empty() {
            self.wakeup.wake();
        }
        Ok(())
    }

    /// Logs a message to a resident and queues it durably: sent now while their window is
    /// open, else held until they write again. Returns "queued" or "held".
    pub async fn send_to_resident(
        &self,
        openid: &str,
        text: &str,
        kind: &str,
        adviser: Option<&str>,
    ) -> anyhow::Result<&'static str> {
        let who = OpenId::parse(openid)?;
        let t = now();
        let meta = adviser.map(|u| serde_json::json!({"adviser": u}).to_string());
        self.store.log_message(&who, crate::store::Direction::Out, kind, text, None, meta.as_deref(), t).await?;
        let parts: Vec<Reply> = crate::wechat::split::split_text(text, crate::wechat::split::MAX_TEXT_BYTES)
            .into_iter()
            .map(Reply::text)
            .collect();
        if self.store.window_open(openid, t).await? {
            self.enqueue(&who, &parts, 0).await?;
            Ok("queued")
        } else {
            for part in &parts {
                self.store.enqueue_held(&who, &serde_json::to_string(part)?).await?;
            }
            Ok("held")
        }
    }

    /// An answer that missed the passive-reply deadline: queue it and mark the delivery.
    pub async fn defer(&self, to: &OpenId, key: &MsgKey, replies: &[Reply]) -> anyhow::Result<()> {
        self.enqueue(to, replies, 0).await?;
        self.store.finish_delivery(key, None, now()).await?;
        Ok(())
    }
}

pub struct Application {
    port: u16,
    server: Server,
    pub state: web::Data<AppState>,
}

impl Application {
    pub async fn build(settings: Settings) -> anyhow::Result<Application> {
        let parse_key = |k: &secrecy::SecretString| {
            AesKey::parse(k.expose_secret()).map_err(|e| anyhow::anyhow!("LAWLINE_WECHAT_AES_KEY: {e}"))
        };
        let aes_keys = [&settings.wechat.aes_key, &settings.wechat.previous_aes_key]
            .into_iter()
            .flatten()
            .map(parse_key)
            .collect::<anyhow::Result<Vec<_>>>()?;

        let kb = {
            let (faq, index) = (settings.faq_dir.clone(), settings.index_dir.clone());
            tokio::task::spawn_blocking(move || {
                crate::knowledge::remove_stale_indexes(&index);
                Knowledge::load(&faq, &index)
            })
            .await??
        };
        tracing::info!(entries = kb.entries.len(), "knowledge base loaded");
        let store = Store::connect(&settings.database_url).await?;
        tracing::info!(backend = ?store.backend(), "database ready");

        let client = Arc::new(ApiClient::new(
            &settings.wechat.api_base,
            &settings.wechat.appid,
            settings.wechat.appsecret.expose_secret(),
        ));
        let wakeup = Wakeup::default();
        if client.is_configured() {
            tokio::spawn(outbox::run(store.clone(), client.clone(), wakeup.clone()));
        } else {
            tracing::warn!("no AppID/AppSecret: late answers stay queued in the outbox until they are configured");
        }
        tokio::spawn(prune_deliveries(store.clone()));

        let reload_status = Mutex::new(ReloadStatus {
            entries: kb.entries.len(),
            guides: kb.guides.len(),
            loaded_at: now(),
            problems: vec![],
        });
        let listener = TcpListener::bind(&settings.listen)?;
        let port = listener.local_addr()?.port();
        let state = web::Data::new(AppState {
            settings,
            store,
            knowledge: RwLock::new(Arc::new(kb)),
            client,
            aes_keys,
            wakeup,
            reload_status,
            notifier: Notifier::default(),
        });
        tokio::spawn(crate::reminders::run(state.clone()));
        if state.settings.faq_watch_ms > 0 {
            let every = std::time::Duration::from_millis(state.settings.faq_watch_ms);
            tokio::spawn(reload::watch(state.clone(), every));
        }
        let server = run(listener, state.clone())?;
        Ok(Application { port, server, state })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// To stop the server from outside (tests stop it to simulate a crash or restart).
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        self.server.await
    }
}

fn run(listener: TcpListener, state: web::Data<AppState>) -> std::io::Result<Server> {
    let server = HttpServer::new(move || {
        App::new()
            .wrap(actix_web::middleware::from_fn(crate::telemetry::request_id))
            .app_data(state.clone())
            .app_data(web::PayloadConfig::new(MAX_BODY_BYTES))
            .route("/healthz", web::get().to(routes::health::healthz))
            .route("/readyz", web::get().to(routes::health::readyz))
            .route("/wechat", web::get().to(routes::wechat::verify))
            .route("/wechat", web::post().to(routes::wechat::receive))
            .route("/api/admin/search", web::get().to(routes::admin::search))
            .route("/api/admin/status", web::get().to(routes::admin::status))
            .route("/api/admin/reload", web::post().to(routes::admin::reload))
            .route("/console", web::get().to(routes::console::page))
            .service(
                web::scope("/api/console")
                    .route("/login", web::post().to(routes::console::login))
                    .route("/logout", web::post().to(routes::console::logout))
                    .route("/me", web::get().to(routes::console::me))
                    .route("/queue", web::get().to(routes::console::queue))
                    .route("/canned", web::get().to(routes::console::canned))
                    .route("/advisers", web::get().to(routes::console::advisers))
                    .route("/events", web::get().to(routes::console::events))
                    .route("/handoffs/{id}", web::get().to(routes::console::show))
                    .route("/handoffs/{id}/claim", web::post().to(routes::console::claim))
                    .route("/handoffs/{id}/reply", web::post().to(routes::console::reply))
                    .route("/handoffs/{id}/transfer", web::post().to(routes::console::transfer))
                    .route("/handoffs/{id}/return", web::post().to(routes::console::return_to_bot))
                    .route("/handoffs/{id}/close", web::post().to(routes::console::close))
                    .route("/bookings", web::get().to(routes::bookings::list))
                    .route("/bookings.csv", web::get().to(routes::bookings::csv))
                    .route("/bookings/{id}/status", web::post().to(routes::bookings::set_status))
                    .route("/bookings/{id}/cancel", web::post().to(routes::bookings::cancel)),
            )
    })
    // Open event streams would hold a graceful shutdown for the default 30 s.
    .shutdown_timeout(3)
    .listen(listener)?
    .run();
    Ok(server)
}

/// Forgets processed-delivery keys after a day: WeChat retries within a minute.
async fn prune_deliveries(store: Store) {
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
    loop {
        tick.tick().await;
        match store.prune_deliveries(now() - 86_400).await {
            Ok(n) if n > 0 => tracing::info!(removed = n, "old delivery keys pruned"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not prune delivery keys"),
        }
    }
}
