//! The knowledge base: the files admins keep in `faq/` (entries, directory, dictionaries, the
//! bot's own texts), validated as a whole, and the search index built from them.

mod bot;
mod directory;
mod entry;
mod guide;
pub mod import;
mod problem;
mod search;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub use bot::{BookingTexts, BotTexts, MenuItem};
pub use directory::{Directory, Town, Village};
pub use entry::{Entry, MAX_ANSWER_CHARS};
pub use guide::{Guide, MAX_GUIDE_CHARS};
pub use problem::Problem;
pub use search::{Decision, Found, Hit, SearchIndex, Thresholds, decide, remove_stale_indexes};

use crate::text::{Analyzer, Lexicon, normalize};

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("the knowledge base has {} problem(s); run `lawline check`", .0.len())]
    Invalid(Vec<Problem>),
    #[error("could not build the search index: {0}")]
    Index(#[from] anyhow::Error),
}

/// A reply advisers pick from in the console (`faq/canned.toml`).
#[derive(Debug, Clone, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields)]
pub struct Canned {
    pub title: String,
    pub text: String,
}

#[derive(serde::Deserialize)]
struct CannedFile {
    #[serde(default)]
    reply: Vec<Canned>,
}

/// Everything read from `faq/`, validated, before the index is built.
pub struct Faq {
    pub booking: Option<crate::booking::BookingConfig>,
    pub canned: Vec<Canned>,
    pub entries: Vec<Entry>,
    pub guides: Vec<Guide>,
    pub directory: Directory,
    pub bot: BotTexts,
    pub lexicon: Lexicon,
}

impl Faq {
    /// Reads and validates every file; returns all problems found, not just the first.
    pub fn load(dir: &Path) -> Result<Faq, Vec<Problem>> {
        let mut problems = Vec::new();
        let rel = |p: &Path| p.strip_prefix(dir).unwrap_or(p).display().to_string();
        let read = |p: &Path, problems: &mut Vec<Problem>| match std::fs::read_to_string(p) {
            Ok(s) => Some(s),
            Err(e) => {
                problems.push(Problem::new(rel(p), 0, format!("cannot read: {e}")));
                None
            }
        };

        let directory_path = dir.join("directory.toml");
        let directory = read(&directory_path, &mut problems)
            .and_then(|src| collect(Directory::parse(&rel(&directory_path), &src), &mut problems))
            .unwrap_or_default();

        let (lexicon, lex_problems) = Lexicon::load(&dir.join("dict"));
        problems.extend(lex_problems.into_iter().map(|p| Problem::new(rel(Path::new(&p.file)), p.line, p.message)));

        let mut entries = Vec::new();
        for path in files_under(&dir.join("entries"), "md") {
            if let Some(src) = read(&path, &mut problems)
                && let Some(e) = collect(Entry::parse(&rel(&path), &src, &directory), &mut problems)
            {
                entries.push(e);
            }
        }
        if entries.is_empty() {
            problems.push(Problem::new("entries", 0, "no knowledge-base entries found"));
        }
        cross_check(&entries, &mut problems);

        let mut guides = Vec::new();
        for path in files_under(&dir.join("guides"), "md") {
            if let Some(src) = read(&path, &mut problems)
                && let Some(g) = collect(Guide::parse(&rel(&path), &src, &directory), &mut problems)
            {
                guides.push(g);
            }
        }
        check_guides(&guides, &entries, &mut problems);

        let canned_path = dir.join("canned.toml");
        let canned = match std::fs::read_to_string(&canned_path) {
            Ok(src) => toml::from_str::<CannedFile>(&src)
                .map_err(|e| problems.push(Problem::from_toml("canned.toml", &src, 1, &e)))
                .map(|f| f.reply)
                .unwrap_or_default(),
            Err(_) => vec![],
        };

        let booking_path = dir.join("booking.toml");
        let booking = std::fs::read_to_string(&booking_path).ok().and_then(|src| {
            collect(crate::booking::BookingConfig::parse("booking.toml", &src, &directory), &mut problems)
        });

        let bot_path = dir.join("bot.toml");
        let bot = read(&bot_path, &mut problems)
            .and_then(|src| collect(BotTexts::parse(&rel(&bot_path), &src, &directory), &mut problems));
        if let Some(bot) = &bot {
            for item in &bot.menu {
                if let Some(id) = &item.entry
                    && !entries.iter().any(|e| &e.id == id)
                {
                    problems.push(Problem::new(
                        "bot.toml",
                        1,
                        format!("menu item {:?} names unknown entry {id:?}", item.label),
                    ));
                }
            }
        }
        problems.sort();
        match bot {
            Some(bot) if problems.is_empty() => Ok(Faq { booking, canned, entries, guides, directory, bot, lexicon }),
            _ => Err(problems),
        }
    }
}

fn collect<T>(result: Result<T, Vec<Problem>>, problems: &mut Vec<Problem>) -> Option<T> {
    result.map_err(|p| problems.extend(p)).ok()
}

/// Duplicate ids, and similar questions claimed by two entries.
fn cross_check(entries: &[Entry], problems: &mut Vec<Problem>) {
    let mut ids: HashMap<&str, &Entry> = HashMap::new();
    let mut questions: HashMap<String, &Entry> = HashMap::new();
    for e in entries {
        if let Some(first) = ids.insert(&e.id, e) {
            problems.push(Problem::new(&e.file, 2, format!("duplicate id {:?} (also in {})", e.id, first.file)));
        }
        for q in std::iter::once(&e.question).chain(&e.similar) {
            let key = normalize(q);
            if let Some(other) = questions.insert(key, e)
                && other.id != e.id
            {
                problems.push(Problem::new(
                    &e.file,
                    e.similar_line,
                    format!("similar question {q:?} is also in {} ({})", other.id, other.file),
                ));
            }
        }
    }
}

/// Guide ids and names unique, the entries they name existing, each entry under one guide.
fn check_guides(guides: &[Guide], entries: &[Entry], problems: &mut Vec<Problem>) {
    let mut seen: HashMap<String, &Guide> = HashMap::new();
    let mut pointed: HashMap<&str, &Guide> = HashMap::new();
    for g in guides {
        for key in [g.id.clone(), normalize(&g.name)] {
            if let Some(other) = seen.insert(key.clone(), g) {
                problems.push(Problem::new(
                    &g.file,
                    2,
                    format!("guide id or name {key:?} is also used by {}", other.file),
                ));
            }
        }
        for id in &g.entries {
            if !entries.iter().any(|e| &e.id == id) {
                problems.push(Problem::new(&g.file, 2, format!("unknown entry {id:?} in `entries`")));
            }
            if let Some(other) = pointed.insert(id, g) {
                problems.push(Problem::new(&g.file, 2, format!("entry {id:?} already points to guide {}", other.id)));
            }
        }
    }
}

/// Normalised, without spaces: how names are compared.
fn compact(s: &str) -> String {
    normalize(s).replace(' ', "")
}

/// Files with the given extension below `dir`, sorted, recursively.
fn files_under(dir: &Path, ext: &str) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(read) = std::fs::read_dir(&d) else { continue };
        for item in read.flatten() {
            let path = item.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == ext) {
                out.push(path);
            }
        }
    }
    out.sort();
    out
}

/// The loaded knowledge base with its search index; read-only once built.
pub struct Knowledge {
    pub booking: Option<crate::booking::BookingConfig>,
    pub canned: Vec<Canned>,
    pub entries: Vec<Entry>,
    pub guides: Vec<Guide>,
    by_id: HashMap<String, usize>,
    pub directory: Directory,
    pub bot: BotTexts,
    index: SearchIndex,
}

impl Knowledge {
    pub fn load(faq_dir: &Path, index_dir: &Path) -> Result<Knowledge, LoadError> {
        let faq = Faq::load(faq_dir).map_err(LoadError::Invalid)?;
        Ok(Knowledge::build(faq, index_dir)?)
    }

    pub fn build(faq: Faq, index_dir: &Path) -> anyhow::Result<Knowledge> {
        let analyzer = Analyzer::new(&faq.lexicon);
        Knowledge::build_with(faq, index_dir, analyzer, Thresholds::default())
    }

    /// Builds with another analyser and thresholds (the plain BM25 baseline uses this).
    pub fn build_with(
        faq: Faq,
        index_dir: &Path,
        analyzer: Analyzer,
        thresholds: Thresholds,
    ) -> anyhow::Result<Knowledge> {
        let index = SearchIndex::build(&faq.entries, analyzer, index_dir)?.with_thresholds(thresholds);
        let by_id = faq.entries.iter().enumerate().map(|(i, e)| (e.id.clone(), i)).collect();
        Ok(Knowledge {
            booking: faq.booking,
            canned: faq.canned,
            entries: faq.entries,
            guides: faq.guides,
            by_id,
            directory: faq.directory,
            bot: faq.bot,
            index,
        })
    }

    pub fn entry(&self, id: &str) -> Option<&Entry> {
        self.by_id.get(id).map(|&i| &self.entries[i])
    }

    /// The guide an entry's answer points to.
    pub fn guide_for_entry(&self, entry: &str) -> Option<&Guide> {
        self.guides.iter().find(|g| g.entries.iter().any(|e| e == entry))
    }

    /// The guide a resident names exactly: its name, title, id or one of its aliases.
    pub fn guide_named(&self, words: &str) -> Option<&Guide> {
        let asked = compact(words);
        (!asked.is_empty()).then_some(())?;
        self.guides
            .iter()
            .find(|g| [&g.name, &g.title, &g.id].into_iter().chain(&g.aliases).any(|n| compact(n) == asked))
    }

    /// The guide whose name the words contain ("指南 法律援助的").
    pub fn guide_mentioned(&self, words: &str) -> Option<&Guide> {
        let asked = compact(words);
        self.guide_named(words).or_else(|| self.guides.iter().find(|g| asked.contains(&compact(&g.name))))
    }

    pub fn index(&self) -> &SearchIndex {
        &self.index
    }

    /// Searches; an index failure is logged and treated as "not known" so the chat goes on.
    pub fn search(&self, query: &str, limit: usize) -> Found {
        self.index.search(query, limit).unwrap_or_else(|e| {
            tracing::error!(error = %e, "search failed");
            Found { decision: Decision::Unknown, hits: vec![], off_topic: false, terms: 0 }
        })
    }
}
