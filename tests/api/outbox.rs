use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(a_closed_window_holds_the_reply_until_the_resident_writes_again);

async fn a_closed_window_holds_the_reply_until_the_resident_writes_again(b: Backend) {
    let app = spawn_app_with(b, |s| s.wechat.reply_deadline_ms = 0).await;
    app.wechat.script_errors(&[45015]);
    app.post_plain(&text_xml("oResidentJ1", "法律援助申请后多久有结果", 10001)).await;
    for _ in 0..100 {
        if app.count("SELECT COUNT(*) FROM outbox WHERE status = 'held'").await == 1 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(app.count("SELECT COUNT(*) FROM outbox WHERE status = 'held'").await, 1);
    assert!(app.wechat.sent_texts().is_empty());
    // The resident writes again: the held answer goes out, then the new one.
    app.post_plain(&text_xml("oResidentJ1", "谢谢", 10002)).await;
    let sent = app.wechat.wait_for_texts(2).await;
    assert_eq!(sent.len(), 2);
    let kb = app.state.knowledge();
    assert!(sent[0].1.starts_with(kb.entry("legal-aid.decision-time").unwrap().answer.as_str()));
    assert_eq!(sent[1].1, kb.bot.thanks);
    assert_eq!(app.wait_count("SELECT COUNT(*) FROM outbox WHERE status = 'sent'", 2).await, 2);
}
