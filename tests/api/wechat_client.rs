use lawline::domain::OpenId;
use lawline::wechat::ApiClient;
use serde_json::json;

use crate::mock_wechat::MockWechat;

fn client(mock: &MockWechat) -> ApiClient {
    ApiClient::new(&mock.base, "wxtestappid", "test-secret")
}

#[tokio::test]
async fn the_token_is_cached_and_refreshed_once_when_rejected() {
    let mock = MockWechat::start().await;
    let c = client(&mock);
    let to = OpenId::parse("oClient1").unwrap();
    c.send_text(&to, "一").await.unwrap();
    c.send_text(&to, "二").await.unwrap();
    assert_eq!(mock.token_requests().len(), 1, "cached between calls");
    mock.rotate_token();
    c.send_text(&to, "三").await.unwrap();
    assert_eq!(mock.token_requests().len(), 2, "refetched after 40001");
    assert_eq!(mock.token_requests()[0]["grant_type"], "client_credential");
    let texts: Vec<String> = mock.sent_texts().into_iter().map(|(_, t)| t).collect();
    assert_eq!(texts, ["一", "二", "三"]);
}

#[tokio::test]
async fn concurrent_callers_share_one_token_fetch() {
    let mock = MockWechat::start().await;
    let c = std::sync::Arc::new(client(&mock));
    let to = OpenId::parse("oClient2").unwrap();
    let calls = (0..8).map(|i| {
        let (c, to) = (c.clone(), to.clone());
        tokio::spawn(async move { c.send_text(&to, &format!("m{i}")).await })
    });
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(mock.token_requests().len(), 1);
    assert_eq!(mock.sent_texts().len(), 8);
}

#[tokio::test]
async fn a_token_error_is_retried_once_only_and_other_errors_surface() {
    let mock = MockWechat::start().await;
    let c = client(&mock);
    let to = OpenId::parse("oClient3").unwrap();
    mock.script_errors(&[42001, 42001]);
    let err = c.send_text(&to, "x").await.unwrap_err();
    assert_eq!(err.code(), Some(42001));
    mock.script_errors(&[45047]);
    let err = c.send_text(&to, "x").await.unwrap_err();
    assert_eq!(err.code(), Some(45047));
    assert!(!err.is_transient());
    assert!(mock.sent_texts().is_empty());
    let wrong = ApiClient::new(&mock.base, "wxtestappid", "wrong-secret");
    assert_eq!(wrong.send_text(&to, "x").await.unwrap_err().code(), Some(40013));
}

#[tokio::test]
async fn typing_menu_and_template() {
    let mock = MockWechat::start().await;
    let c = client(&mock);
    let to = OpenId::parse("oClient4").unwrap();
    c.typing(&to, true).await.unwrap();
    c.typing(&to, false).await.unwrap();
    let typing = mock.calls("/cgi-bin/message/custom/typing");
    assert_eq!(typing[0], json!({"touser": "oClient4", "command": "Typing"}));
    assert_eq!(typing[1]["command"], "CancelTyping");
    let menu: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/faq/menu.json")).unwrap())
            .unwrap();
    c.create_menu(&menu).await.unwrap();
    assert_eq!(mock.calls("/cgi-bin/menu/create")[0], menu);
    let msgid = c
        .send_template(&json!({"touser": "oClient4", "template_id": "T1", "data": {"keyword1": {"value": "v"}}}))
        .await
        .unwrap();
    assert_eq!(msgid, 200228332);
}
