//! Settings: `lawline.toml` (or `--config PATH`) layered under `LAWLINE_*` environment
//! variables, with defaults that run out of the box. Secrets never print.

use std::path::{Path, PathBuf};

use secrecy::SecretString;
use serde::Deserialize;

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Settings {
    /// Address to listen on; port 0 picks a free port.
    pub listen: String,
    /// `sqlite://path/to/file.db` or `postgres://…`.
    pub database_url: String,
    pub faq_dir: PathBuf,
    pub index_dir: PathBuf,
    /// How often `faq/` is checked for edits, in milliseconds; 0 turns hot reload off.
    pub faq_watch_ms: u64,
    /// Mark the console's session cookie `Secure` (only sent over HTTPS): set it in production.
    pub secure_cookies: bool,
    /// Bearer token for the admin JSON API; empty disables it.
    pub admin_token: SecretString,
    pub wechat: WechatSettings,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct WechatSettings {
    /// The token set in the official account's server configuration.
    pub token: SecretString,
    pub appid: String,
    pub appsecret: SecretString,
    /// EncodingAESKey; when set, safe (and compatible) mode is accepted.
    pub aes_key: Option<SecretString>,
    /// The previous EncodingAESKey, accepted during a key rotation.
    pub previous_aes_key: Option<SecretString>,
    pub api_base: String,
    /// How long to wait for an answer before replying `success` and sending it later
    /// through the customer-service API. WeChat gives up after 5 seconds.
    pub reply_deadline_ms: u64,
    /// Template for appointment reminders when the customer-service window is closed.
    pub reminder_template_id: Option<String>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            listen: "127.0.0.1:8080".into(),
            database_url: "sqlite://data/lawline.db".into(),
            faq_dir: "faq".into(),
            index_dir: "index".into(),
            faq_watch_ms: 2000,
            secure_cookies: false,
            admin_token: SecretString::from(""),
            wechat: WechatSettings::default(),
        }
    }
}

impl Default for WechatSettings {
    fn default() -> Self {
        WechatSettings {
            token: SecretString::from("lawline-dev-token"),
            appid: String::new(),
            appsecret: SecretString::from(""),
            aes_key: None,
            previous_aes_key: None,
            api_base: "https://api.weixin.qq.com".into(),
            reply_deadline_ms: 4000,
            reminder_template_id: None,
        }
    }
}

impl Settings {
    /// Reads `path` (or `lawline.toml` when present), then applies the environment.
    pub fn load(path: Option<&Path>) -> anyhow::Result<Settings> {
        let file = path.map(Path::to_path_buf).or_else(|| {
            let default = PathBuf::from("lawline.toml");
            default.exists().then_some(default)
        });
        let mut settings = match file {
            Some(p) => {
                let text =
                    std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", p.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            }
            None => Settings::default(),
        };
        settings.apply_env(|k| std::env::var(k).ok());
        Ok(settings)
    }

    /// Overrides each setting whose `LAWLINE_*` variable is set.
    pub fn apply_env(&mut self, var: impl Fn(&str) -> Option<String>) {
        let secret = |v: String| SecretString::from(v);
        if let Some(v) = var("LAWLINE_LISTEN") {
            self.listen = v;
        }
        if let Some(v) = var("LAWLINE_DATABASE_URL") {
            self.database_url = v;
        }
        if let Some(v) = var("LAWLINE_FAQ_DIR") {
            self.faq_dir = v.into();
        }
        if let Some(v) = var("LAWLINE_INDEX_DIR") {
            self.index_dir = v.into();
        }
        if let Some(v) = var("LAWLINE_FAQ_WATCH_MS").and_then(|v| v.parse().ok()) {
            self.faq_watch_ms = v;
        }
        if let Some(v) = var("LAWLINE_SECURE_COOKIES") {
            self.secure_cookies = v == "true" || v == "1";
        }
        if let Some(v) = var("LAWLINE_ADMIN_TOKEN") {
            self.admin_token = secret(v);
        }
        let w = &mut self.wechat;
        if let Some(v) = var("LAWLINE_WECHAT_TOKEN") {
            w.token = secret(v);
        }
        if let Some(v) = var("LAWLINE_WECHAT_APPID") {
            w.appid = v;
        }
        if let Some(v) = var("LAWLINE_WECHAT_APPSECRET") {
            w.appsecret = secret(v);
        }
        if let Some(v) = var("LAWLINE_WECHAT_AES_KEY") {
            w.aes_key = (!v.is_empty()).then(|| secret(v));
        }
        if let Some(v) = var("LAWLINE_WECHAT_PREVIOUS_AES_KEY") {
            w.previous_aes_key = (!v.is_empty()).then(|| secret(v));
        }
        if let Some(v) = var("LAWLINE_WECHAT_API_BASE") {
            w.api_base = v;
        }
        if let Some(v) = var("LAWLINE_WECHAT_REMINDER_TEMPLATE_ID") {
            w.reminder_template_id = (!v.is_empty()).then_some(v);
        }
        if let Some(v) = var("LAWLINE_WECHAT_REPLY_DEADLINE_MS").and_then(|v| v.parse().ok()) {
            w.reply_deadline_ms = v;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    #[test]
    fn file_then_environment() {
        let mut s: Settings =
            toml::from_str("listen = \"0.0.0.0:9000\"\n[wechat]\ntoken = \"file-token\"\nappid = \"wxfile\"\n")
                .unwrap();
        assert_eq!(s.database_url, "sqlite://data/lawline.db");
        s.apply_env(|k| match k {
            "LAWLINE_WECHAT_TOKEN" => Some("env-token".into()),
            "LAWLINE_DATABASE_URL" => Some("postgres://x/y".into()),
            _ => None,
        });
        assert_eq!(s.listen, "0.0.0.0:9000");
        assert_eq!(s.wechat.appid, "wxfile");
        assert_eq!(s.wechat.token.expose_secret(), "env-token");
        assert_eq!(s.database_url, "postgres://x/y");
        assert!(!format!("{s:?}").contains("env-token"));
    }

    #[test]
    fn the_example_file_is_valid() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("lawline.example.toml");
        let s = Settings::load(Some(&path)).unwrap();
        assert_eq!(s.wechat.reply_deadline_ms, 4000);
        assert_eq!(s.wechat.api_base, "https://api.weixin.qq.com");
    }

    #[test]
    fn unknown_keys_are_errors() {
        assert!(toml::from_str::<Settings>("lisen = \"x\"").is_err());
    }
}
