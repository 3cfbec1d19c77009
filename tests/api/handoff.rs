use std::time::Duration;

use serde_json::{Value, json};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    a_handoff_by_keyword_goes_to_the_village_adviser_first,
    the_bot_is_silent_while_the_adviser_answers_and_the_reply_reaches_the_resident,
    a_reply_outside_the_window_is_held_until_the_resident_writes_again,
    out_of_hours_the_resident_is_told_when_advisers_work,
    a_reply_accepted_before_a_restart_is_delivered_exactly_once,
    an_urgent_message_jumps_the_queue,
    console_routes_need_a_session_and_logins_are_rate_limited,
    closing_asks_for_a_rating_and_a_transfer_reaches_the_other_adviser,
);

async fn request_human(app: &TestApp, openid: &str, village: &str, first_id: i64) -> Option<String> {
    let (_, asked) = app.say(openid, "转人工", first_id).await;
    assert!(asked.unwrap().contains("村"));
    app.say(openid, village, first_id + 1).await.1
}

async fn first_waiting(console: &Console) -> Value {
    console.queue().await["waiting"][0].clone()
}

async fn a_handoff_by_keyword_goes_to_the_village_adviser_first(b: Backend) {
    let app = spawn_app(b).await;
    app.add_adviser("adviser-a", "adviser", Some("hekou-jd")).await;
    app.add_adviser("adviser-d", "adviser", Some("liuhe-jd")).await;
    app.add_adviser("boss", "admin", None).await;
    let queued = request_human(&app, "oResidentM1", "河口街道示例一村", 20001).await.unwrap();
    assert!(queued.contains("已为您转接"), "{queued}");
    assert_eq!(app.count("SELECT COUNT(*) FROM residents WHERE village_id = 'hekou-jd-v1'").await, 1);

    let village_adviser = app.login("adviser-a").await;
    let item = first_waiting(&village_adviser).await;
    assert_eq!(item["scope"], "mine");
    assert_eq!(item["village"], "河口街道示例一村");
    assert_eq!(item["town"], "河口街道");
    assert_eq!(item["reason"], "asked");
    assert!(!item["resident"].as_str().unwrap().contains("oResidentM1"), "masked");
    // Another town's adviser does not see it while the village adviser may take it.
    let other = app.login("adviser-d").await;
    assert!(other.queue().await["waiting"].as_array().unwrap().is_empty());
    assert_eq!(first_waiting(&app.login("boss").await).await["scope"], "pool");
    // After the village wait it reaches the district pool, which everyone sees.
    sqlx::query("UPDATE handoffs SET routed_at = routed_at - 3600, created_at = created_at - 3600")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    assert_eq!(first_waiting(&other).await["scope"], "pool");
    // The resident is remembered: next time no question about the village.
    let id = item["id"].as_i64().unwrap();
    app.state.store.close_handoff(id, "adviser", None, lawline::store::now()).await.unwrap();
    sqlx::query("UPDATE conversations SET state = '{}'").execute(app.state.store.pool()).await.unwrap();
    let (_, again) = app.say("oResidentM1", "人工", 20010).await;
    assert!(again.unwrap().contains("已为您转接"));
}

async fn the_bot_is_silent_while_the_adviser_answers_and_the_reply_reaches_the_resident(b: Backend) {
    let app = spawn_app(b).await;
    app.add_adviser("adviser-a", "adviser", Some("hekou-jd")).await;
    request_human(&app, "oResidentN1", "跳过", 21001).await.unwrap();
    let console = app.login("adviser-a").await;
    let id = first_waiting(&console).await["id"].as_i64().unwrap();
    assert_eq!(console.post(&format!("/api/console/handoffs/{id}/claim"), json!({})).await.status(), 200);
    assert_eq!(console.post(&format!("/api/console/handoffs/{id}/claim"), json!({})).await.status(), 409);

    // The resident writes: no bot answer, the adviser sees it.
    let resp = app.post_plain(&text_xml("oResidentN1", "我家的地被邻居占了一半", 21010)).await;
    assert_eq!(resp.text().await.unwrap(), "success");
    let detail: Value = console.get(&format!("/api/console/handoffs/{id}")).await.json().await.unwrap();
    let texts: Vec<&str> = detail["messages"].as_array().unwrap().iter().map(|m| m["text"].as_str().unwrap()).collect();
    assert!(texts.contains(&"我家的地被邻居占了一半"), "{texts:?}");
    assert!(texts.iter().any(|t| t.contains("已为您转接")), "bot turns are in the history");
    assert_eq!(detail["window_open"], true);

    let sent = console
        .post(&format!("/api/console/handoffs/{id}/reply"), json!({"text": "您好，请把承包合同拍照发我。"}))
        .await;
    assert_eq!(sent.json::<Value>().await.unwrap()["status"], "queued");
    let texts = app.wechat.wait_for_texts(1).await;
    assert_eq!(texts, vec![("oResidentN1".to_owned(), "您好，请把承包合同拍照发我。".to_owned())]);
    let empty = console.post(&format!("/api/console/handoffs/{id}/reply"), json!({"text": "  "})).await;
    assert_eq!(empty.status(), 400);
}

async fn a_reply_outside_the_window_is_held_until_the_resident_writes_again(b: Backend) {
    let app = spawn_app(b).await;
    app.add_adviser("boss", "admin", None).await;
    request_human(&app, "oResidentO1", "跳过", 22001).await.unwrap();
    let console = app.login("boss").await;
    let id = first_waiting(&console).await["id"].as_i64().unwrap();
    console.post(&format!("/api/console/handoffs/{id}/claim"), json!({})).await;
    sqlx::query("UPDATE residents SET last_inbound_at = last_inbound_at - 200000")
        .execute(app.state.store.pool())
        .await
        .unwrap();
    let detail: Value = console.get(&format!("/api/console/handoffs/{id}")).await.json().await.unwrap();
    assert_eq!(detail["window_open"], false);
    let sent = console.post(&format!("/api/console/handoffs/{id}/reply"), json!({"text": "材料收到了吗？"})).await;
    assert_eq!(sent.json::<Value>().await.unwrap()["status"], "held");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(app.wechat.sent_texts().is_empty());
    let detail: Value = console.get(&format!("/api/console/handoffs/{id}")).await.json().await.unwrap();
    assert_eq!(detail["held"], 1);
    // The resident writes again: the held reply goes out.
    app.post_plain(&text_xml("oResidentO1", "在吗", 22010)).await;
    let texts = app.wechat.wait_for_texts(1).await;
    assert_eq!(texts, vec![("oResidentO1".to_owned(), "材料收到了吗？".to_owned())]);
}

async fn out_of_hours_the_resident_is_told_when_advisers_work(b: Backend) {
    let faq = tempfile::tempdir().unwrap();
    crate::knowledge::copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("faq"), faq.path());
    let directory = faq.path().join("directory.toml");
    let text = std::fs::read_to_string(&directory).unwrap().replace("weekdays = [1, 2, 3, 4, 5]", "weekdays = []");
    std::fs::write(&directory, text).unwrap();
    let dir = faq.path().to_path_buf();
    let app = spawn_app_with(b, |s| s.faq_dir = dir).await;
    let reply = request_human(&app, "oResidentP1", "跳过", 23001).await.unwrap();
    assert!(reply.contains("下班时间") && reply.contains("12348"), "{reply}");
    let hours = app.state.knowledge().directory.service_hours.clone().unwrap().description;
    assert!(reply.contains(&hours));
    assert_eq!(app.count("SELECT COUNT(*) FROM handoffs WHERE status = 'waiting'").await, 1);
}

async fn a_reply_accepted_before_a_restart_is_delivered_exactly_once(b: Backend) {
    // The first instance cannot send (no AppSecret): the reply stays in the outbox.
    let first = spawn_app_with(b, |s| s.wechat.appsecret = secrecy::SecretString::from("")).await;
    first.add_adviser("boss", "admin", None).await;
    request_human(&first, "oResidentQ1", "跳过", 24001).await.unwrap();
    let console = first.login("boss").await;
    let id = first_waiting(&console).await["id"].as_i64().unwrap();
    console.post(&format!("/api/console/handoffs/{id}/claim"), json!({})).await;
    let sent = console.post(&format!("/api/console/handoffs/{id}/reply"), json!({"text": "重启前接受的回复"})).await;
    assert_eq!(sent.status(), 200);
    assert_eq!(first.count("SELECT COUNT(*) FROM outbox WHERE status = 'pending'").await, 1);
    first.server.stop(true).await;

    // A new instance on the same database delivers it, once.
    let url = first.state.settings.database_url.clone();
    let second = spawn_app_with(b, |s| s.database_url = url).await;
    let texts = second.wechat.wait_for_texts(1).await;
    assert_eq!(texts, vec![("oResidentQ1".to_owned(), "重启前接受的回复".to_owned())]);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(second.wechat.sent_texts().len(), 1);
    assert_eq!(second.wait_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await, 1);
}

async fn an_urgent_message_jumps_the_queue(b: Backend) {
    let app = spawn_app(b).await;
    app.add_adviser("adviser-d", "adviser", Some("liuhe-jd")).await;
    request_human(&app, "oResidentR1", "跳过", 25001).await.unwrap();
    let (_, reply) = app.say("oResidentR2", "他天天打我，我不想活了", 25010).await;
    let reply = reply.unwrap();
    assert!(reply.contains("110") && reply.contains("120"), "{reply}");
    let queue = app.login("adviser-d").await.queue().await;
    let waiting = queue["waiting"].as_array().unwrap();
    assert_eq!(waiting.len(), 2);
    assert_eq!(waiting[0]["urgent"], true);
    assert_eq!(waiting[0]["reason"], "risk");
    assert_eq!(waiting[1]["urgent"], false);
    let meta: String =
        sqlx::query_scalar("SELECT meta FROM messages WHERE openid = 'oResidentR2' AND direction = 'out'")
            .fetch_one(app.state.store.pool())
            .await
            .unwrap();
    assert!(meta.contains("\"risk\"") && meta.contains("不想活"), "flagged for the report: {meta}");
}

async fn console_routes_need_a_session_and_logins_are_rate_limited(b: Backend) {
    let app = spawn_app(b).await;
    app.add_adviser("adviser-a", "adviser", Some("hekou-jd")).await;
    for path in ["/api/console/queue", "/api/console/me", "/api/console/handoffs/1", "/api/console/events"] {
        let resp = app.http.get(format!("{}{path}", app.address)).send().await.unwrap();
        assert_eq!(resp.status(), 401, "{path}");
    }
    let forged = app
        .http
        .get(format!("{}/api/console/queue", app.address))
        .header("Cookie", "lawline_session=forged")
        .send()
        .await
        .unwrap();
    assert_eq!(forged.status(), 401);
    let page = app.http.get(format!("{}/console", app.address)).send().await.unwrap();
    assert_eq!(page.status(), 200);
    assert!(page.text().await.unwrap().contains("<html"));

    let login = |password: &'static str| {
        let req = app
            .http
            .post(format!("{}/api/console/login", app.address))
            .json(&json!({"username": "adviser-a", "password": password}));
        async move { req.send().await.unwrap().status().as_u16() }
    };
    for _ in 0..5 {
        assert_eq!(login("wrong-password").await, 401);
    }
    assert_eq!(login(PASSWORD).await, 429, "locked after five failures");
    let console_me = app.http.get(format!("{}/api/console/me", app.address)).send().await.unwrap();
    assert_eq!(console_me.status(), 401);
    // Logout ends the session.
    sqlx::query("DELETE FROM login_attempts").execute(app.state.store.pool()).await.unwrap();
    let console = app.login("adviser-a").await;
    assert_eq!(console.get("/api/console/me").await.status(), 200);
    console.post("/api/console/logout", json!({})).await;
    assert_eq!(console.get("/api/console/me").await.status(), 401);
}

async fn closing_asks_for_a_rating_and_a_transfer_reaches_the_other_adviser(b: Backend) {
    let app = spawn_app(b).await;
    app.add_adviser("boss", "admin", None).await;
    app.add_adviser("adviser-d", "adviser", Some("liuhe-jd")).await;
    request_human(&app, "oResidentS1", "跳过", 26001).await.unwrap();
    let boss = app.login("boss").await;
    let id = first_waiting(&boss).await["id"].as_i64().unwrap();
    boss.post(&format!("/api/console/handoffs/{id}/claim"), json!({})).await;
    let moved = boss.post(&format!("/api/console/handoffs/{id}/transfer"), json!({"to": "adviser:adviser-d"})).await;
    assert_eq!(moved.status(), 200);
    let d = app.login("adviser-d").await;
    assert_eq!(first_waiting(&d).await["scope"], "mine");
    d.post(&format!("/api/console/handoffs/{id}/claim"), json!({})).await;
    assert_eq!(d.post(&format!("/api/console/handoffs/{id}/close"), json!({})).await.status(), 200);
    assert_eq!(d.post(&format!("/api/console/handoffs/{id}/close"), json!({})).await.status(), 409, "closed once");
    let asked = app.wechat.wait_for_texts(1).await;
    assert_eq!(asked[0].1, app.state.knowledge().bot.human.closed);
    let (_, thanks) = app.say("oResidentS1", "5", 26010).await;
    assert_eq!(thanks.unwrap(), app.state.knowledge().bot.human.rating_thanks);
    assert_eq!(app.count("SELECT COUNT(*) FROM handoffs WHERE rating = 5 AND status = 'closed'").await, 1);
    // Back with the bot: a question gets an answer again.
    let (_, answer) = app.say("oResidentS1", "公证费怎么收", 26011).await;
    assert!(answer.unwrap().starts_with(app.state.knowledge().entry("notary.fees").unwrap().answer.as_str()));
}
