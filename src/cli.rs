//! The commands behind `lawline`'s subcommands other than `serve`.

use std::path::Path;

use secrecy::ExposeSecret;

use crate::configuration::Settings;
use crate::dialog::{self, Conversation, Input};
use crate::evaluation;
use crate::knowledge::{Faq, Knowledge, Thresholds, import};
use crate::text::Analyzer;
use crate::wechat::message::Fields;
use crate::wechat::{ApiClient, crypto, signature};

/// Validates `faq/`; prints every problem as `file:line: message`. True when all is well.
pub fn check(faq_dir: &Path) -> bool {
    match Faq::load(faq_dir) {
        Ok(faq) => {
            println!(
                "ok: {} entries, {} towns, {} villages",
                faq.entries.len(),
                faq.directory.towns.len(),
                faq.directory.villages.len()
            );
            true
        }
        Err(problems) => {
            for p in &problems {
                println!("{}/{p}", faq_dir.display());
            }
            println!("{} problem(s)", problems.len());
            false
        }
    }
}

/// Answers questions with the engine directly (no server, no database), as a first try.
pub fn ask(settings: &Settings, questions: &[String], explain: bool) -> anyhow::Result<()> {
    let kb = Knowledge::load(&settings.faq_dir, &settings.index_dir)?;
    let mut conversation = Conversation::default();
    for q in questions {
        if explain {
            let found = kb.search(q, 5);
            println!("decision: {:?}{}", found.decision, if found.off_topic { " (off topic)" } else { "" });
            // term:weight, `?` when the knowledge base never uses it, `*` for a legal term.
            let terms: Vec<String> = kb
                .index()
                .explain_terms(q)
                .into_iter()
                .map(|t| {
                    format!(
                        "{}:{:.1}{}{}",
                        t.term,
                        t.weight,
                        if t.known { "" } else { "?" },
                        if t.legal { "*" } else { "" }
                    )
                })
                .collect();
            println!("terms: {}", terms.join(" "));
            for h in &found.hits {
                let anchor = if h.anchored { "  (legal term shared)" } else { "" };
                println!("  {:<32} score {:>6.2}  coverage {:.2}{anchor}", kb.entries[h.entry].id, h.score, h.coverage);
            }
        }
        let taken = Default::default();
        let ctx = dialog::Context {
            kb: &kb,
            now: crate::clock::local(crate::store::now()),
            waiting: 0,
            village: None,
            taken: &taken,
            upcoming: &[],
        };
        let outcome = dialog::handle(&conversation, &Input::Text(q.clone()), &ctx);
        for reply in &outcome.replies {
            println!("{}\n", reply.summary());
        }
        conversation = outcome.conversation;
    }
    Ok(())
}

/// Signs and posts a text message to a running server, as WeChat would, and prints the reply.
pub async fn send(settings: &Settings, url: &str, openid: &str, text: &str) -> anyhow::Result<()> {
    let token = settings.wechat.token.expose_secret();
    let timestamp = crate::store::now().to_string();
    let nonce = format!("{}", rand::random::<u32>());
    let msg_id: i64 = rand::random::<i64>().abs();
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_lawline]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    let sig = signature::sign(&[token, &timestamp, &nonce]);
    let mut query = vec![
        ("signature", sig),
        ("timestamp", timestamp.clone()),
        ("nonce", nonce.clone()),
        ("openid", openid.to_owned()),
    ];
    let key = settings.wechat.aes_key.as_ref().map(|k| crypto::AesKey::parse(k.expose_secret())).transpose()?;
    let body = match &key {
        Some(key) => {
            let encrypted = crypto::encrypt(key, &settings.wechat.appid, &rand::random(), &xml);
            query.push(("encrypt_type", "aes".into()));
            query.push(("msg_signature", signature::sign(&[token, &timestamp, &nonce, &encrypted])));
            format!(
                "<xml><ToUserName><![CDATA[gh_lawline]]></ToUserName><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
        }
        None => xml,
    };
    let resp = reqwest::Client::new().post(url).query(&query).body(body).send().await?;
    let status = resp.status();
    let text = resp.text().await?;
    if !status.is_success() {
        anyhow::bail!("the server answered {status}: {text}");
    }
    if text == "success" || text.is_empty() {
        println!("(no passive reply: the answer goes through the customer-service API)");
        return Ok(());
    }
    let mut fields = Fields::parse(&text)?;
    if let (Some(key), Some(enc)) = (&key, fields.get("Encrypt")) {
        fields = Fields::parse(&crypto::decrypt(key, &settings.wechat.appid, enc)?)?;
    }
    println!("{}", fields.get("Content").or(fields.get("Title")).unwrap_or(&text));
    Ok(())
}

/// Creates the custom menu from a JSON file in WeChat's own shape.
pub async fn create_menu(settings: &Settings, file: &Path) -> anyhow::Result<()> {
    let menu: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let client =
        ApiClient::new(&settings.wechat.api_base, &settings.wechat.appid, settings.wechat.appsecret.expose_secret());
    client.create_menu(&menu).await?;
    println!("menu created from {}", file.display());
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EvalMode {
    Normal,
    Baseline,
    Sweep,
}

/// Runs the evaluation; prints the report (or JSON) and returns false when a gate fails.
/// The sweep's constraints sit above the targets (90% rejection, few wrong answers): with ~70
/// out-of-scope questions one query is 1.4 points, and a setting that only just meets the
/// target on the development set falls below it on new questions.
const SWEEP_MIN_OOS: f64 = 0.95;
const SWEEP_MAX_WRONG: f64 = 0.03;

pub fn eval(
    settings: &Settings,
    file: &Path,
    json: bool,
    gates: &[(&str, Option<f64>)],
    mode: EvalMode,
) -> anyhow::Result<bool> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let cases = evaluation::parse_cases(&text).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let kb = match mode {
        EvalMode::Baseline => {
            let faq = Faq::load(&settings.faq_dir)
                .map_err(|p| anyhow::anyhow!("{} problem(s); run `lawline check`", p.len()))?;
            Knowledge::build_with(faq, &settings.index_dir, Analyzer::plain(), Thresholds::ranked_list())?
        }
        _ => Knowledge::load(&settings.faq_dir, &settings.index_dir)?,
    };
    let searched = evaluation::search_all(&kb, &cases);
    let related = kb.bot.lists_related();
    if mode == EvalMode::Sweep {
        let best = evaluation::sweep(&searched, related, SWEEP_MIN_OOS, SWEEP_MAX_WRONG);
        println!("current: {:?}", kb.index().thresholds());
        for (t, r) in best.iter().take(10) {
            println!(
                "top1 {:.3} recall@3 {:.3} oos {:.3} wrong {:.3} answered {:.3}  {t:?}",
                r.top1, r.recall3, r.oos_rejection, r.wrong_answer, r.answered
            );
        }
        return Ok(true);
    }
    let report = evaluation::score(&searched, kb.index().thresholds(), related);
    if json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        for m in &report.misses {
            println!("miss: {:<28} {:?} got {:?} ({:?})", m.expect, m.q, m.got, m.decision);
        }
        println!(
            "n {} (in scope {}, out of scope {})\ntop1 {:.3}  recall@3 {:.3}  MRR {:.3}  out-of-scope rejection {:.3}\nanswered outright {:.3}  wrong answers {:.3}",
            report.n,
            report.n_in_scope,
            report.n_out_of_scope,
            report.top1,
            report.recall3,
            report.mrr,
            report.oos_rejection,
            report.answered,
            report.wrong_answer
        );
    }
    let value = serde_json::to_value(&report)?;
    let mut ok = true;
    for (name, min) in gates {
        if let Some(min) = min {
            let got = value[name].as_f64().unwrap_or_default();
            if got < *min {
                eprintln!("gate failed: {name} {got:.3} < {min:.3}");
                ok = false;
            }
        }
    }
    Ok(ok)
}

/// Public-data retrieval: lawline's analyser against plain BM25 over jieba.
pub fn eval_public(settings: &Settings, data: &Path) -> anyhow::Result<()> {
    let pairs = evaluation::public_pairs(data)?;
    let faq =
        Faq::load(&settings.faq_dir).map_err(|p| anyhow::anyhow!("{} problem(s); run `lawline check`", p.len()))?;
    let ours = Analyzer::new(&faq.lexicon);
    for (name, analyzer) in [("plain BM25 (jieba)", Analyzer::plain()), ("lawline analyser", ours)] {
        let r = evaluation::public_eval(&pairs, analyzer, &settings.index_dir)?;
        println!("{name:<20} n {}  recall@1 {:.3}  recall@5 {:.3}  MRR {:.3}", r.n, r.recall1, r.recall5, r.mrr);
    }
    Ok(())
}

/// Imports a CSV or JSONL file of questions and answers into entry files.
pub fn import(file: &Path, out: &Path, prefix: &str, category: &str) -> anyhow::Result<()> {
    let text = std::fs::read_to_string(file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let is_csv = file.extension().is_some_and(|e| e.eq_ignore_ascii_case("csv"));
    let rows = if is_csv { import::read_csv(&text) } else { import::read_jsonl(&text) }
        .map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
    let done = import::write_entries(&rows, out, prefix, category, &format!("import:{}", file.display()))?;
    for (row, why) in &done.skipped {
        println!("skipped row {row}: {why}");
    }
    println!("{} entries written to {}; run `lawline check`", done.written.len(), out.display());
    Ok(())
}

/// Asks a running server to reload its knowledge base.
pub async fn reload(settings: &Settings, url: &str) -> anyhow::Result<bool> {
    let resp = reqwest::Client::new()
        .post(format!("{}/api/admin/reload", url.trim_end_matches('/')))
        .bearer_auth(settings.admin_token.expose_secret())
        .send()
        .await?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if status.is_success() {
        println!("reloaded: {}", body["knowledge"]);
        return Ok(true);
    }
    for p in body["problems"].as_array().into_iter().flatten() {
        println!("{}", p.as_str().unwrap_or_default());
    }
    println!("not reloaded ({status}); the server keeps its last good knowledge base");
    Ok(false)
}

/// Creates or resets an adviser account; the password comes from standard input.
pub async fn adviser_add(
    settings: &Settings,
    username: &str,
    name: &str,
    role: &str,
    town: Option<&str>,
    quiet: bool,
) -> anyhow::Result<()> {
    let valid = (2..=32).contains(&username.len())
        && username.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-_.".contains(&b));
    anyhow::ensure!(valid, "the username is 2 to 32 characters of a-z, 0-9, '-', '_' and '.'");
    anyhow::ensure!(role == "adviser" || role == "admin", "the role is adviser or admin");
    anyhow::ensure!(!name.trim().is_empty(), "--name is required");
    if let Some(town) = town {
        let faq = Faq::load(&settings.faq_dir).map_err(|p| anyhow::anyhow!("{} problem(s) in faq/", p.len()))?;
        anyhow::ensure!(faq.directory.town(town).is_some(), "no town {town:?} in directory.toml");
    }
    if !quiet {
        eprint!("password for {username}: ");
    }
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\r', '\n']);
    anyhow::ensure!(
        password.chars().count() >= crate::auth::MIN_PASSWORD_CHARS,
        "the password needs at least {} characters",
        crate::auth::MIN_PASSWORD_CHARS
    );
    let store = crate::store::Store::connect(&settings.database_url).await?;
    let account = crate::store::Account {
        id: 0,
        username: username.to_owned(),
        display_name: name.trim().to_owned(),
        role: role.to_owned(),
        town_id: town.map(str::to_owned),
        password_hash: crate::auth::hash_password(password)?,
    };
    store.upsert_account(&account, crate::store::now()).await?;
    println!("account {username} ({role}) saved");
    Ok(())
}

pub async fn adviser_list(settings: &Settings) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(&settings.database_url).await?;
    for a in store.accounts().await? {
        println!("{:<20} {:<8} {:<12} {}", a.username, a.role, a.town_id.as_deref().unwrap_or("-"), a.display_name);
    }
    Ok(())
}

pub async fn adviser_remove(settings: &Settings, username: &str) -> anyhow::Result<()> {
    let store = crate::store::Store::connect(&settings.database_url).await?;
    anyhow::ensure!(store.deactivate_account(username).await?, "no account {username}");
    println!("account {username} deactivated");
    Ok(())
}
