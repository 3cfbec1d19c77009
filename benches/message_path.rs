//! The message path without the network: parse the XML, run the dialogue engine (which
//! searches the index), and build the reply XML. Target: median under 300 µs per text message.

use std::hint::black_box;
use std::path::Path;

use criterion::{Criterion, criterion_group, criterion_main};
use lawline::dialog::{self, Conversation, Input};
use lawline::knowledge::Knowledge;
use lawline::wechat::Inbound;

const QUESTIONS: [&str; 4] =
    ["公司拖欠工资三个月了怎么办", "我想申请法律援助，要带什么材料", "离婚后孩子抚养费一般给多少", "今天天气怎么样"];

fn xml(content: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_bench]]></ToUserName><FromUserName><![CDATA[oBenchUser0001]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>1234567890</MsgId></xml>"
    )
}

fn message_path(c: &mut Criterion) {
    let index = tempfile::tempdir().unwrap();
    let kb = Knowledge::load(&Path::new(env!("CARGO_MANIFEST_DIR")).join("faq"), index.path()).unwrap();
    let bodies: Vec<String> = QUESTIONS.iter().map(|q| xml(q)).collect();
    let conversation = Conversation::default();
    let now = lawline::clock::local(1_795_770_000);
    let taken = Default::default();

    c.bench_function("text message: parse, engine, search, reply XML", |b| {
        let mut i = 0;
        b.iter(|| {
            let body = &bodies[i % bodies.len()];
            i += 1;
            let inbound = Inbound::parse(black_box(body)).unwrap();
            let ctx = dialog::Context { kb: &kb, now, waiting: 0, village: None, taken: &taken, upcoming: &[] };
            let outcome = dialog::handle(&conversation, &Input::from_body(&inbound.body), &ctx);
            let reply = &outcome.replies[0];
            black_box(reply.to_xml(inbound.from.as_str(), &inbound.to, inbound.create_time))
        })
    });
    c.bench_function("search only", |b| {
        let mut i = 0;
        b.iter(|| {
            i += 1;
            black_box(kb.search(QUESTIONS[i % QUESTIONS.len()], 5))
        })
    });
    c.bench_function("parse XML only", |b| b.iter(|| Inbound::parse(black_box(&bodies[0])).unwrap()));
}

criterion_group!(benches, message_path);
criterion_main!(benches);
