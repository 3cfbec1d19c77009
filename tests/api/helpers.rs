//! `spawn_app`: the real application on a random port with its own fresh database (SQLite file
//! or PostgreSQL database), its own index folder, and a mock of WeChat's API.

use std::path::PathBuf;

use lawline::configuration::{Settings, WechatSettings};
use lawline::startup::{AppState, Application};
use lawline::wechat::{crypto, message::Fields, signature};
use secrecy::SecretString;
use sqlx::Executor;

use crate::mock_wechat::MockWechat;

pub const TOKEN: &str = "test-token";
pub const APPID: &str = "wxtestappid";
pub const AES_KEY: &str = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";
pub const ADMIN_TOKEN: &str = "admin-secret-for-tests";

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Runs each named `async fn(Backend)` once on SQLite and once on PostgreSQL.
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                super::$name($crate::helpers::Backend::Sqlite).await
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                super::$name($crate::helpers::Backend::Postgres).await
            }
        }
    )*};
}

pub struct TestApp {
    pub address: String,
    pub server: actix_web::dev::ServerHandle,
    pub wechat: MockWechat,
    pub state: actix_web::web::Data<AppState>,
    pub http: reqwest::Client,
    _dir: tempfile::TempDir,
}

fn faq_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("faq")
}

/// A fresh, empty database URL for this test.
pub async fn fresh_database(backend: Backend, dir: &std::path::Path) -> String {
    match backend {
        Backend::Sqlite => format!("sqlite://{}", dir.join("lawline.db").display()),
        Backend::Postgres => {
            let base = std::env::var("LAWLINE_TEST_POSTGRES_URL")
                .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
            let name = format!("lawline_test_{}", uuid::Uuid::new_v4().simple());
            sqlx::any::install_default_drivers();
            let mut conn = <sqlx::AnyConnection as sqlx::Connection>::connect(&format!("{base}/test"))
                .await
                .expect("PostgreSQL must be running on 127.0.0.1:5432 (see README)");
            conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.unwrap();
            format!("{base}/{name}")
        }
    }
}

pub async fn spawn_app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |_| {}).await
}

pub async fn spawn_app_with(backend: Backend, configure: impl FnOnce(&mut Settings)) -> TestApp {
    // Logs only when asked for: TEST_LOG=1 cargo test
    if std::env::var("TEST_LOG").is_ok() {
        lawline::telemetry::init();
    }
    let dir = tempfile::tempdir().unwrap();
    let wechat = MockWechat::start().await;
    let mut settings = Settings {
        listen: "127.0.0.1:0".into(),
        database_url: fresh_database(backend, dir.path()).await,
        faq_dir: faq_dir(),
        index_dir: dir.path().join("index"),
        faq_watch_ms: 0,
        secure_cookies: false,
        admin_token: SecretString::from(ADMIN_TOKEN),
        wechat: WechatSettings {
            token: SecretString::from(TOKEN),
            appid: APPID.into(),
            appsecret: SecretString::from("test-secret"),
            aes_key: Some(SecretString::from(AES_KEY)),
            api_base: wechat.base.clone(),
            ..WechatSettings::default()
        },
    };
    configure(&mut settings);
    let app = Application::build(settings).await.expect("the application builds");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state.clone();
    let server = app.handle();
    tokio::spawn(app.run_until_stopped());
    TestApp { address, server, wechat, state, http: reqwest::Client::new(), _dir: dir }
}

pub fn text_xml(openid: &str, content: &str, msg_id: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    )
}

pub fn event_xml(openid: &str, event: &str, key: &str, create_time: i64) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{create_time}</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event><EventKey><![CDATA[{key}]]></EventKey></xml>"
    )
}

pub fn signed_query(timestamp: &str, nonce: &str) -> Vec<(&'static str, String)> {
    vec![
        ("signature", signature::sign(&[TOKEN, timestamp, nonce])),
        ("timestamp", timestamp.into()),
        ("nonce", nonce.into()),
        ("openid", "ignored".into()),
    ]
}

/// The reply's `Content`, or None when the body is `success`.
pub fn reply_content(body: &str) -> Option<String> {
    if body == "success" {
        return None;
    }
    Fields::parse(body).ok()?.get("Content").map(str::to_owned)
}

impl TestApp {
    /// Posts a plaintext delivery, signed as WeChat signs it.
    pub async fn post_plain(&self, xml: &str) -> reqwest::Response {
        self.http
            .post(format!("{}/wechat", self.address))
            .query(&signed_query("1700000000", "nonce1"))
            .body(xml.to_owned())
            .send()
            .await
            .unwrap()
    }

    /// Posts a plaintext text message; returns (status, reply content).
    pub async fn say(&self, openid: &str, content: &str, msg_id: i64) -> (u16, Option<String>) {
        let resp = self.post_plain(&text_xml(openid, content, msg_id)).await;
        let status = resp.status().as_u16();
        (status, reply_content(&resp.text().await.unwrap()))
    }

    /// Posts a safe-mode delivery; returns the status and the raw body.
    pub async fn post_safe(&self, xml: &str) -> (u16, String) {
        let key = crypto::AesKey::parse(AES_KEY).unwrap();
        let encrypted = crypto::encrypt(&key, APPID, &[9; 16], xml);
        let (ts, nonce) = ("1700000001", "nonce2");
        let mut query = signed_query(ts, nonce);
        query.push(("encrypt_type", "aes".into()));
        query.push(("msg_signature", signature::sign(&[TOKEN, ts, nonce, &encrypted])));
        let body = format!(
            "<xml><ToUserName><![CDATA[gh_test]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        );
        let resp = self.http.post(format!("{}/wechat", self.address)).query(&query).body(body).send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// Waits (up to 5 s) until the count reaches `expected`, for work done in the background.
    pub async fn wait_count(&self, sql: &'static str, expected: i64) -> i64 {
        for _ in 0..100 {
            if self.count(sql).await == expected {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.count(sql).await
    }

    pub async fn count(&self, sql: &'static str) -> i64 {
        sqlx::query_scalar::<_, i64>(sql).fetch_one(self.state.store.pool()).await.unwrap()
    }
}

/// A logged-in console user, as the browser would be: the session cookie on every call.
pub struct Console {
    pub base: String,
    pub http: reqwest::Client,
    pub cookie: String,
}

impl Console {
    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get(format!("{}{path}", self.base)).header("Cookie", &self.cookie).send().await.unwrap()
    }

    pub async fn post(&self, path: &str, body: serde_json::Value) -> reqwest::Response {
        self.http.post(format!("{}{path}", self.base)).header("Cookie", &self.cookie).json(&body).send().await.unwrap()
    }

    pub async fn queue(&self) -> serde_json::Value {
        self.get("/api/console/queue").await.json().await.unwrap()
    }
}

pub const PASSWORD: &str = "Secret-Pass-123";

impl TestApp {
    /// Creates an account directly in the database.
    pub async fn add_adviser(&self, username: &str, role: &str, town: Option<&str>) {
        let account = lawline::store::Account {
            id: 0,
            username: username.into(),
            display_name: format!("{username}顾问"),
            role: role.into(),
            town_id: town.map(str::to_owned),
            password_hash: lawline::auth::hash_password(PASSWORD).unwrap(),
        };
        self.state.store.upsert_account(&account, lawline::store::now()).await.unwrap();
    }

    pub async fn login(&self, username: &str) -> Console {
        let resp = self
            .http
            .post(format!("{}/api/console/login", self.address))
            .json(&serde_json::json!({"username": username, "password": PASSWORD}))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), 200, "login of {username}");
        let cookie = resp.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned();
        Console { base: self.address.clone(), http: self.http.clone(), cookie }
    }
}
