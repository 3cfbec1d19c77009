use serde_json::Value;

use crate::helpers::*;
use crate::on_both_backends;

on_both_backends!(admin_search_needs_the_token_and_decides_as_the_bot_does);

async fn admin_search_needs_the_token_and_decides_as_the_bot_does(b: Backend) {
    let app = spawn_app(b).await;
    let url = format!("{}/api/admin/search", app.address);
    let none = app.http.get(&url).query(&[("q", "离婚")]).send().await.unwrap();
    assert_eq!(none.status(), 401);
    let wrong = app.http.get(&url).query(&[("q", "离婚")]).bearer_auth("nope").send().await.unwrap();
    assert_eq!(wrong.status(), 401);

    let ask = |q: &'static str| {
        let req = app.http.get(&url).query(&[("q", q)]).bearer_auth(ADMIN_TOKEN);
        async move { req.send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let found = ask("申请法律援助要带哪些材料").await;
    assert_eq!(found["decision"], "answer");
    assert_eq!(found["hits"][0]["id"], "legal-aid.materials");
    let scores: Vec<f64> = found["hits"].as_array().unwrap().iter().map(|h| h["score"].as_f64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "ranked best first: {scores:?}");
    assert!(found["hits"][0]["title"].as_str().unwrap().len() > 3);
    let weather = ask("明天天气怎么样").await;
    assert_eq!(weather["decision"], "unknown");
}
