use lawline::wechat::{crypto, message::Fields, signature};

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    url_verification_echoes_only_with_the_right_signature,
    a_question_gets_the_answer_from_the_knowledge_base,
    safe_mode_is_decrypted_and_the_reply_encrypted,
    a_retried_delivery_is_processed_once_and_gets_the_same_reply,
    a_wrong_signature_is_refused_and_nothing_is_stored,
    malformed_hostile_and_oversized_bodies_are_refused_and_serving_goes_on,
    subscribe_gets_a_welcome_with_a_menu_and_a_digit_picks_from_it,
    unknown_types_are_acknowledged_and_unknown_questions_answered_honestly,
    an_answer_that_misses_the_deadline_goes_by_the_customer_service_api,
    voice_uses_the_recognised_text_and_unsubscribe_forgets_the_state,
);

async fn url_verification_echoes_only_with_the_right_signature(b: Backend) {
    let app = spawn_app(b).await;
    let sig = signature::sign(&[TOKEN, "1714037059", "486452656"]);
    let url = format!("{}/wechat", app.address);
    let ok = app
        .http
        .get(&url)
        .query(&[
            ("signature", sig.as_str()),
            ("timestamp", "1714037059"),
            ("nonce", "486452656"),
            ("echostr", "echo-5678"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), 200);
    assert_eq!(ok.text().await.unwrap(), "echo-5678");
    let bad = app
        .http
        .get(&url)
        .query(&[
            ("signature", sig.as_str()),
            ("timestamp", "1714037060"),
            ("nonce", "486452656"),
            ("echostr", "echo-5678"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 403);
    assert!(!bad.text().await.unwrap().contains("echo-5678"));
}

async fn a_question_gets_the_answer_from_the_knowledge_base(b: Backend) {
    let app = spawn_app(b).await;
    let (status, content) = app.say("oResidentA1", "我家里困难，想申请法律援助，要什么条件", 1001).await;
    assert_eq!(status, 200);
    let kb = app.state.knowledge();
    let expected = &kb.entry("legal-aid.eligibility").unwrap().answer;
    assert!(content.unwrap().starts_with(expected.as_str()));
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE direction = 'in'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE direction = 'out'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM residents WHERE last_inbound_at IS NOT NULL").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM conversations").await, 1);
}

async fn safe_mode_is_decrypted_and_the_reply_encrypted(b: Backend) {
    let app = spawn_app(b).await;
    let (status, body) = app.post_safe(&text_xml("oResidentB2", "公证一般要多久才能拿到公证书", 2002)).await;
    assert_eq!(status, 200);
    let envelope = Fields::parse(&body).unwrap();
    let encrypted = envelope.get("Encrypt").expect("an encrypted reply");
    let (ts, nonce) = (envelope.get("TimeStamp").unwrap(), envelope.get("Nonce").unwrap());
    assert!(signature::verify(envelope.get("MsgSignature").unwrap(), &[TOKEN, ts, nonce, encrypted]));
    let key = crypto::AesKey::parse(AES_KEY).unwrap();
    let reply = Fields::parse(&crypto::decrypt(&key, APPID, encrypted).unwrap()).unwrap();
    assert_eq!(reply.get("ToUserName"), Some("oResidentB2"));
    assert_eq!(reply.get("FromUserName"), Some("gh_test"));
    let kb = app.state.knowledge();
    assert!(reply.get("Content").unwrap().starts_with(kb.entry("notary.duration").unwrap().answer.as_str()));
}

async fn a_retried_delivery_is_processed_once_and_gets_the_same_reply(b: Backend) {
    let app = spawn_app(b).await;
    let first = app.say("oResidentC3", "人民调解收费吗", 3003).await;
    let second = app.say("oResidentC3", "人民调解收费吗", 3003).await;
    let third = app.say("oResidentC3", "人民调解收费吗", 3003).await;
    assert!(first.1.is_some());
    assert_eq!(first, second);
    assert_eq!(first, third);
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE direction = 'in'").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM processed_messages").await, 1);
    // Events have no MsgId: FromUserName + CreateTime + Event is the key.
    let sub = event_xml("oResidentC3", "subscribe", "", 1700000500);
    app.post_plain(&sub).await;
    app.post_plain(&sub).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM messages WHERE kind = 'subscribe'").await, 1);
}

async fn a_wrong_signature_is_refused_and_nothing_is_stored(b: Backend) {
    let app = spawn_app(b).await;
    let mut query = signed_query("1700000000", "nonce1");
    query[0].1 = signature::sign(&["wrong-token", "1700000000", "nonce1"]);
    let resp = app
        .http
        .post(format!("{}/wechat", app.address))
        .query(&query)
        .body(text_xml("oResidentD4", "离婚", 4004))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(resp.text().await.unwrap(), "invalid signature");
    // Safe mode: a correct `signature` but a forged `msg_signature`.
    let key = crypto::AesKey::parse(AES_KEY).unwrap();
    let encrypted = crypto::encrypt(&key, APPID, &[1; 16], &text_xml("oResidentD4", "离婚", 4005));
    let mut query = signed_query("1700000000", "nonce1");
    query.push(("encrypt_type", "aes".into()));
    query.push(("msg_signature", signature::sign(&[TOKEN, "1700000000", "nonce1", "forged"])));
    let resp = app
        .http
        .post(format!("{}/wechat", app.address))
        .query(&query)
        .body(format!("<xml><Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 403);
    assert_eq!(app.count("SELECT COUNT(*) FROM messages").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM processed_messages").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM residents").await, 0);
}

async fn malformed_hostile_and_oversized_bodies_are_refused_and_serving_goes_on(b: Backend) {
    let app = spawn_app(b).await;
    for body in [
        "<xml><Content>unclosed".to_owned(),
        "not xml at all".to_owned(),
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><xml><ToUserName>a</ToUserName><FromUserName>b</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content>&e;</Content><MsgId>1</MsgId></xml>".to_owned(),
        text_xml("oResidentE5", "x", 1).replace("<MsgId>1</MsgId>", ""),
    ] {
        let resp = app.post_plain(&body).await;
        assert_eq!(resp.status(), 400, "{body}");
        let text = resp.text().await.unwrap();
        assert_eq!(text, "bad request", "no internals leak");
    }
    let huge = text_xml("oResidentE5", &"长".repeat(30_000), 5005);
    assert!(huge.len() > 64 * 1024);
    assert_eq!(app.post_plain(&huge).await.status(), 413);
    // Still serving.
    let (status, content) = app.say("oResidentE5", "12348热线是干什么的", 5006).await;
    assert_eq!(status, 200);
    assert!(content.unwrap().contains("12348"));
}

async fn subscribe_gets_a_welcome_with_a_menu_and_a_digit_picks_from_it(b: Backend) {
    let app = spawn_app(b).await;
    let resp = app.post_plain(&event_xml("oResidentF6", "subscribe", "qrscene_village-7", 1700000100)).await;
    let welcome = reply_content(&resp.text().await.unwrap()).unwrap();
    let kb = app.state.knowledge();
    assert!(welcome.contains("欢迎"), "{welcome}");
    assert!(welcome.contains(&format!("1. {}", kb.bot.menu[0].label)), "{welcome}");
    assert_eq!(app.count("SELECT COUNT(*) FROM residents WHERE subscribed = 1 AND scene = 'village-7'").await, 1);
    let (_, picked) = app.say("oResidentF6", "1", 6001).await;
    let first_item = kb.bot.menu[0].entry.as_deref().unwrap();
    assert!(picked.unwrap().starts_with(kb.entry(first_item).unwrap().answer.as_str()));
    let (_, menu) = app.say("oResidentF6", "菜单", 6002).await;
    assert!(menu.unwrap().contains(&format!("2. {}", kb.bot.menu[1].label)));
    let (_, hello) = app.say("oResidentF6", "你好", 6003).await;
    assert!(hello.unwrap().starts_with(&kb.bot.greeting));
    let (_, thanks) = app.say("oResidentF6", "谢谢", 6004).await;
    assert_eq!(thanks.unwrap(), kb.bot.thanks);
}

async fn unknown_types_are_acknowledged_and_unknown_questions_answered_honestly(b: Backend) {
    let app = spawn_app(b).await;
    let odd = "<xml><ToUserName>gh_test</ToUserName><FromUserName>oResidentG7</FromUserName><CreateTime>1700000200</CreateTime><MsgType>miniprogrampage</MsgType><MsgId>7001</MsgId></xml>";
    let resp = app.post_plain(odd).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "success");
    let view = app.post_plain(&event_xml("oResidentG7", "VIEW", "https://example.org", 1700000201)).await;
    assert_eq!(view.text().await.unwrap(), "success");
    let kb = app.state.knowledge();
    for (i, q) in ["今天天气怎么样", "给我讲个笑话吧", "去北京的火车票怎么买"].iter().enumerate()
    {
        let (_, content) = app.say("oResidentG7", q, 7100 + i as i64).await;
        assert_eq!(content.unwrap(), kb.bot.unknown, "{q}");
    }
    let image = "<xml><ToUserName>gh_test</ToUserName><FromUserName>oResidentG7</FromUserName><CreateTime>1700000202</CreateTime><MsgType>image</MsgType><PicUrl>http://x/p.jpg</PicUrl><MediaId>m</MediaId><MsgId>7002</MsgId></xml>";
    let resp = app.post_plain(image).await;
    assert_eq!(reply_content(&resp.text().await.unwrap()).unwrap(), kb.bot.unsupported);
}

async fn an_answer_that_misses_the_deadline_goes_by_the_customer_service_api(b: Backend) {
    let app = spawn_app_with(b, |s| s.wechat.reply_deadline_ms = 0).await;
    let resp = app.post_plain(&text_xml("oResidentH8", "公证费怎么收", 8001)).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.text().await.unwrap(), "success");
    let sent = app.wechat.wait_for_texts(1).await;
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].0, "oResidentH8");
    let kb = app.state.knowledge();
    assert!(sent[0].1.starts_with(kb.entry("notary.fees").unwrap().answer.as_str()));
    // WeChat's retry must not produce a second answer.
    let retry = app.post_plain(&text_xml("oResidentH8", "公证费怎么收", 8001)).await;
    assert_eq!(retry.text().await.unwrap(), "success");
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(app.wechat.sent_texts().len(), 1);
    assert_eq!(app.wait_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 1).await, 1);
    assert_eq!(app.wechat.token_requests().len(), 1);
}

async fn voice_uses_the_recognised_text_and_unsubscribe_forgets_the_state(b: Backend) {
    let app = spawn_app(b).await;
    let voice = "<xml><ToUserName>gh_test</ToUserName><FromUserName>oResidentI9</FromUserName><CreateTime>1700000300</CreateTime><MsgType>voice</MsgType><MediaId>m</MediaId><Format>amr</Format><Recognition><![CDATA[我想申请法律援助，要带什么材料]]></Recognition><MsgId>9001</MsgId></xml>";
    let resp = app.post_plain(voice).await;
    let kb = app.state.knowledge();
    let content = reply_content(&resp.text().await.unwrap()).unwrap();
    assert!(content.starts_with(kb.entry("legal-aid.materials").unwrap().answer.as_str()), "{content}");
    assert_eq!(app.count("SELECT COUNT(*) FROM conversations").await, 1);
    app.say("oResidentI9", "人工", 9002).await;
    app.say("oResidentI9", "跳过", 9003).await;
    assert_eq!(app.count("SELECT COUNT(*) FROM handoffs WHERE status = 'waiting'").await, 1);
    let resp = app.post_plain(&event_xml("oResidentI9", "unsubscribe", "", 1700000301)).await;
    assert_eq!(resp.text().await.unwrap(), "success");
    assert_eq!(app.count("SELECT COUNT(*) FROM residents WHERE subscribed = 0").await, 1);
    assert_eq!(app.count("SELECT COUNT(*) FROM conversations").await, 0);
    assert_eq!(app.count("SELECT COUNT(*) FROM handoffs WHERE status = 'closed'").await, 1, "nobody would read it");
}
