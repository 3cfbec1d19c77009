use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(health_and_readiness);

async fn health_and_readiness(b: Backend) {
    let app = spawn_app(b).await;
    let live = app.http.get(format!("{}/healthz", app.address)).send().await.unwrap();
    assert_eq!(live.status(), 200);
    assert!(live.headers().contains_key("x-request-id"));
    let ready = app.http.get(format!("{}/readyz", app.address)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
    let body: serde_json::Value = ready.json().await.unwrap();
    assert_eq!(body["database"], "ok");
    assert_eq!(body["entries"].as_u64().unwrap() as usize, app.state.knowledge().entries.len());
    assert!(body["entries"].as_u64().unwrap() > 20);
}
