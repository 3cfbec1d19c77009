//! A local HTTP server that speaks WeChat's documented API JSON: stable token, customer-service
//! send, typing, template and menu. Records what it receives; errors can be scripted.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use serde_json::{Value, json};

#[derive(Default)]
struct State {
    token_version: u64,
    token_requests: Vec<Value>,
    /// (path, body) of each accepted API call.
    calls: Vec<(String, Value)>,
    /// errcodes to answer the next API calls with, one each, before behaving normally.
    scripted: VecDeque<i64>,
}

#[derive(Clone)]
pub struct MockWechat {
    pub base: String,
    state: Arc<Mutex<State>>,
}

impl MockWechat {
    pub async fn start() -> MockWechat {
        let state = Arc::new(Mutex::new(State { token_version: 1, ..State::default() }));
        let data = web::Data::from(state.clone());
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = HttpServer::new(move || {
            App::new()
                .app_data(data.clone())
                .route("/cgi-bin/stable_token", web::post().to(stable_token))
                .default_service(web::post().to(api_call))
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        tokio::spawn(server);
        MockWechat { base: format!("http://127.0.0.1:{port}"), state }
    }

    /// The next `codes.len()` API calls fail with these errcodes.
    pub fn script_errors(&self, codes: &[i64]) {
        self.state.lock().unwrap().scripted.extend(codes);
    }

    /// Makes the current token invalid, as if another process had refreshed it.
    pub fn rotate_token(&self) {
        self.state.lock().unwrap().token_version += 1;
    }

    pub fn token_requests(&self) -> Vec<Value> {
        self.state.lock().unwrap().token_requests.clone()
    }

    pub fn calls(&self, path: &str) -> Vec<Value> {
        self.state.lock().unwrap().calls.iter().filter(|(p, _)| p == path).map(|(_, b)| b.clone()).collect()
    }

    /// Customer-service texts received, as (openid, content).
    pub fn sent_texts(&self) -> Vec<(String, String)> {
        self.calls("/cgi-bin/message/custom/send")
            .iter()
            .map(|b| (b["touser"].as_str().unwrap().to_owned(), b["text"]["content"].as_str().unwrap().to_owned()))
            .collect()
    }

    /// Waits (up to 10 s) until at least `n` texts were sent.
    pub async fn wait_for_texts(&self, n: usize) -> Vec<(String, String)> {
        for _ in 0..200 {
            let texts = self.sent_texts();
            if texts.len() >= n {
                return texts;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        self.sent_texts()
    }
}

fn current_token(s: &State) -> String {
    format!("TOKEN-{}", s.token_version)
}

async fn stable_token(state: web::Data<Mutex<State>>, body: web::Json<Value>) -> HttpResponse {
    let mut s = state.lock().unwrap();
    s.token_requests.push(body.0.clone());
    if body["appid"] != "wxtestappid" || body["secret"] != "test-secret" {
        return HttpResponse::Ok().json(json!({"errcode": 40013, "errmsg": "invalid appid"}));
    }
    if body["force_refresh"] == true {
        s.token_version += 1;
    }
    HttpResponse::Ok().json(json!({"access_token": current_token(&s), "expires_in": 7200}))
}

async fn api_call(state: web::Data<Mutex<State>>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let mut s = state.lock().unwrap();
    let token = req.query_string().split('&').find_map(|kv| kv.strip_prefix("access_token=")).unwrap_or_default();
    if token != current_token(&s) {
        return HttpResponse::Ok()
            .json(json!({"errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"}));
    }
    let Ok(body) = serde_json::from_slice::<Value>(&body) else {
        return HttpResponse::Ok().json(json!({"errcode": 47001, "errmsg": "data format error"}));
    };
    if let Some(code) = s.scripted.pop_front() {
        return HttpResponse::Ok().json(json!({"errcode": code, "errmsg": "scripted error"}));
    }
    let path = req.path().to_owned();
    s.calls.push((path.clone(), body));
    let mut resp = json!({"errcode": 0, "errmsg": "ok"});
    if path == "/cgi-bin/message/template/send" {
        resp["msgid"] = json!(200228332);
    }
    HttpResponse::Ok().json(resp)
}
