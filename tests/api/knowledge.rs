use std::time::Duration;

use serde_json::Value;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(
    edits_to_faq_go_live_and_a_broken_edit_keeps_the_last_good_knowledge,
    a_long_guide_arrives_in_several_messages
);

pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(item.file_name());
        if item.path().is_dir() {
            copy_dir(&item.path(), &target);
        } else {
            std::fs::copy(item.path(), target).unwrap();
        }
    }
}

async fn edits_to_faq_go_live_and_a_broken_edit_keeps_the_last_good_knowledge(b: Backend) {
    let faq = tempfile::tempdir().unwrap();
    copy_dir(&std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("faq"), faq.path());
    let faq_dir = faq.path().to_path_buf();
    let app = spawn_app_with(b, |s| {
        s.faq_dir = faq_dir.clone();
        s.faq_watch_ms = 100;
    })
    .await;
    let question = "打12348要钱吗";
    let (_, before) = app.say("oResidentK1", question, 11001).await;
    assert!(!before.unwrap().contains("热线新说明"));

    // An admin edits the answer: it goes live without a restart.
    let file = faq_dir.join("entries/hotline/hotline.12348.md");
    let text = std::fs::read_to_string(&file).unwrap();
    let (front, body) = text.split_at(text.rfind("+++\n").unwrap() + 4);
    std::fs::write(&file, format!("{front}热线新说明：{body}")).unwrap();
    let mut live = false;
    for i in 0..100 {
        // A new resident each time: asking the same again would go to a person.
        let (_, now) = app.say(&format!("oResidentK{i}"), question, 11100 + i).await;
        if now.unwrap().starts_with("热线新说明") {
            live = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(live, "the edit went live");

    // A broken edit: the service keeps answering from the last good knowledge base.
    std::fs::write(faq_dir.join("entries/hotline/broken.md"), "+++\nid = \"broken\nquestion = 1\n+++\n").unwrap();
    let reload =
        app.http.post(format!("{}/api/admin/reload", app.address)).bearer_auth(ADMIN_TOKEN).send().await.unwrap();
    assert_eq!(reload.status(), 422);
    let body: Value = reload.json().await.unwrap();
    let problems = body["problems"].as_array().unwrap();
    assert!(problems.iter().any(|p| p.as_str().unwrap().starts_with("entries/hotline/broken.md:2:")), "{problems:?}");
    let (status, still) = app.say("oResidentKx", question, 11500).await;
    assert_eq!(status, 200);
    assert!(still.unwrap().starts_with("热线新说明"));
    let status: Value = app
        .http
        .get(format!("{}/api/admin/status", app.address))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert!(!status["knowledge"]["problems"].as_array().unwrap().is_empty());
    assert_eq!(status["knowledge"]["entries"].as_u64().unwrap() as usize, app.state.knowledge().entries.len());
    let unauthorized = app.http.post(format!("{}/api/admin/reload", app.address)).send().await.unwrap();
    assert_eq!(unauthorized.status(), 401);
}

async fn a_long_guide_arrives_in_several_messages(b: Backend) {
    let app = spawn_app(b).await;
    let (_, first) = app.say("oResidentL2", "指南 法律援助", 12001).await;
    let first = first.unwrap();
    assert!(first.starts_with("法律援助申请办事指南"));
    assert!(first.len() <= 2048);
    let rest = app.wechat.wait_for_texts(1).await;
    assert!(!rest.is_empty());
    assert!(rest.iter().all(|(to, t)| to == "oResidentL2" && t.len() <= 2048));
    let kb = app.state.knowledge();
    let whole: String = std::iter::once(first).chain(rest.into_iter().map(|(_, t)| t)).collect();
    let strip = |s: &str| s.chars().filter(|c| !c.is_whitespace()).collect::<String>();
    assert_eq!(strip(&whole), strip(&kb.guides.iter().find(|g| g.id == "legal-aid").unwrap().text()), "nothing lost");
}
