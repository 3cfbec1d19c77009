//! Search speed on the catalog knowledge base and on a 20,000-entry one built by import, and
//! the time to build the 20,000-entry index. Targets: median search under 300 µs (catalog)
//! and 2 ms (20,000 entries); index build under 10 s.
//!
//! The large knowledge base is imported from the public legal Q&A in ../shared/data/legal-qa
//! (questions and answers repeated to 20,000 rows) when it is there, or from synthetic rows.

use std::hint::black_box;
use std::path::{Path, PathBuf};
use std::time::Instant;

use criterion::{Criterion, criterion_group, criterion_main};
use lawline::knowledge::{Faq, Knowledge, import};

const QUERIES: [&str; 5] = [
    "公司拖欠工资三个月了怎么办",
    "离婚后孩子抚养费一般给多少",
    "借钱不还过了三年还能要吗",
    "交通事故对方全责怎么赔",
    "今天天气怎么样",
];
const LARGE: usize = 20_000;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rows() -> Vec<import::Row> {
    let public = lawline::evaluation::public_pairs(&repo().join("../shared/data/legal-qa")).unwrap_or_default();
    (0..LARGE)
        .map(|i| {
            let (question, answer) = match public.get(i % public.len().max(1)) {
                Some((q, a)) => (format!("{q}（{i}）"), a.chars().take(1500).collect()),
                None => (
                    format!("第{i}号问题：欠款、离婚、工伤、土地承包的事怎么办"),
                    format!("第{i}号回答：可以申请调解或者向法院起诉。"),
                ),
            };
            import::Row { id: Some(format!("r{i}")), question, answer, similar: vec![], category: None }
        })
        .collect()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for item in std::fs::read_dir(from).unwrap().flatten() {
        if item.path().is_dir() {
            copy_dir(&item.path(), &to.join(item.file_name()));
        } else {
            std::fs::copy(item.path(), to.join(item.file_name())).unwrap();
        }
    }
}

/// A copy of faq/ with 20,000 imported entries beside the catalog.
fn large_faq(dir: &Path) {
    copy_dir(&repo().join("faq/entries"), &dir.join("entries"));
    for name in ["directory.toml", "bot.toml", "canned.toml"] {
        std::fs::copy(repo().join("faq").join(name), dir.join(name)).unwrap();
    }
    std::fs::create_dir_all(dir.join("dict")).unwrap();
    for item in std::fs::read_dir(repo().join("faq/dict")).unwrap().flatten() {
        std::fs::copy(item.path(), dir.join("dict").join(item.file_name())).unwrap();
    }
    let done =
        import::write_entries(&rows(), &dir.join("entries/imported"), "bench", "常见问题", "import:bench").unwrap();
    assert_eq!(done.written.len(), LARGE);
}

fn search(c: &mut Criterion) {
    let index = tempfile::tempdir().unwrap();
    let catalog = Knowledge::load(&repo().join("faq"), index.path()).unwrap();
    let mut i = 0;
    c.bench_function("search, catalog knowledge base", |b| {
        b.iter(|| {
            i += 1;
            black_box(catalog.search(QUERIES[i % QUERIES.len()], 5))
        })
    });

    let faq = tempfile::tempdir().unwrap();
    large_faq(faq.path());
    // Building the index is measured from files on disk to a searchable index.
    let mut group = c.benchmark_group("20k");
    group.sample_size(10);
    group.bench_function("load and index 20,000 entries", |b| {
        b.iter(|| {
            let faq = Faq::load(faq.path()).unwrap();
            Knowledge::build(faq, index.path()).unwrap()
        })
    });
    group.finish();
    let started = Instant::now();
    let large = Knowledge::load(faq.path(), index.path()).unwrap();
    eprintln!("20,000 entries loaded and indexed in {:.2} s", started.elapsed().as_secs_f64());
    let mut i = 0;
    c.bench_function("search, 20,000 entries", |b| {
        b.iter(|| {
            i += 1;
            black_box(large.search(QUERIES[i % QUERIES.len()], 5))
        })
    });
}

criterion_group!(benches, search);
criterion_main!(benches);
