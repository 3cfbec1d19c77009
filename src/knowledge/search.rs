//! The tantivy index over the knowledge base and the search on it: BM25 over analysed terms
//! picks the candidates; how much of the question an entry's own wording covers decides
//! whether lawline answers, offers choices, or says it does not know.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{FAST, Field, IndexRecordOption, STORED, STRING, Schema, TextFieldIndexing, TextOptions};
use tantivy::{DocAddress, Index, IndexReader, ReloadPolicy, TantivyDocument, Term, doc};

use super::Entry;
use crate::text::Analyzer;

/// Where a document's text comes from: an entry's questions weigh more than its answer.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Question,
    Answer,
}

impl Kind {
    fn weight(self) -> f32 {
        match self {
            Kind::Question => 1.0,
            Kind::Answer => 0.35,
        }
    }
}

struct DocInfo {
    entry: usize,
    kind: Kind,
    /// The document's distinct terms.
    terms: Vec<String>,
}

/// The fast field that maps a tantivy document to lawline's `DocInfo`.
const DOC_NO: &str = "doc_no";

/// Similar questions longer than this do not count towards an entry's vocabulary (coverage).
const VOCAB_MAX_CHARS: usize = 40;

/// Coverage an off-topic question needs to be answered at all.
const OFF_TOPIC_COVERAGE: f32 = 0.9;

const LONG_QUERY_TERMS: usize = 12;
const LONG_QUERY_FACTOR: f32 = 0.75;

/// Ranking score = BM25 × (this + coverage).
const COVERAGE_RANK_BASE: f32 = 0.5;

/// How much a stored question held whole in the query counts towards coverage.
const CONTAINED_WEIGHT: f32 = 0.8;

/// What lawline does with a question.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Decision {
    /// The best entry answers it.
    Answer,
    /// A few entries may; let the resident choose.
    Suggest,
    /// Nothing answers it well enough.
    Unknown,
}

/// Where the decision falls; calibrated on the development set (see docs/retrieval.md).
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Thresholds {
    pub answer_coverage: f32,
    pub suggest_coverage: f32,
    /// The runner-up must score below this share of the best to answer outright.
    pub answer_margin: f32,
    /// …or cover this much more of the question than the runner-up.
    pub coverage_lead: f32,
}

impl Thresholds {
    /// Plain BM25 as a baseline: the best hit is always the answer.
    pub fn always_answer() -> Self {
        Thresholds { answer_coverage: 0.0, suggest_coverage: 0.0, answer_margin: f32::INFINITY, coverage_lead: 0.0 }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds { answer_coverage: 0.5, suggest_coverage: 0.6, answer_margin: 0.8, coverage_lead: 0.15 }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into the knowledge base's entries.
    pub entry: usize,
    pub score: f32,
    /// IDF-weighted share of the query's terms found in the entry's own questions, 0..=1.
    pub coverage: f32,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    pub decision: Decision,
    pub hits: Vec<Hit>,
    /// The query names something outside legal services.
    pub off_topic: bool,
    /// Distinct terms of the query.
    pub terms: usize,
}

pub struct SearchIndex {
    reader: IndexReader,
    text: Field,
    /// The weight of a term the knowledge base never uses: that of its rarest term.
    unknown_idf: f32,
    docs: Vec<DocInfo>,
    /// Terms of each entry's question, similar questions and keywords.
    vocab: Vec<HashSet<String>>,
    idf: HashMap<String, f32>,
    analyzer: Analyzer,
    thresholds: Thresholds,
    /// The on-disk index, removed when this index is dropped.
    dir: PathBuf,
}

impl SearchIndex {
    /// Builds a fresh index of `entries` in a new folder under `index_dir`.
    pub fn build(entries: &[Entry], analyzer: Analyzer, index_dir: &Path) -> anyhow::Result<Self> {
        let mut schema = Schema::builder();
        let indexing =
            TextFieldIndexing::default().set_tokenizer("whitespace").set_index_option(IndexRecordOption::WithFreqs);
        let text = schema.add_text_field("text", TextOptions::default().set_indexing_options(indexing));
        let entry_id = schema.add_text_field("entry", STRING | STORED);
        let doc_no = schema.add_u64_field(DOC_NO, FAST);
        let schema = schema.build();

        std::fs::create_dir_all(index_dir)?;
        let dir = index_dir.join(format!("gen-{}", uuid::Uuid::new_v4().simple()));
        std::fs::create_dir_all(&dir)?;
        let index = Index::create_in_dir(&dir, schema)?;
        let mut writer = index.writer_with_num_threads::<TantivyDocument>(1, 50_000_000)?;

        let mut docs = Vec::new();
        let mut vocab = Vec::with_capacity(entries.len());
        let mut df: HashMap<String, u32> = HashMap::new();
        for (i, e) in entries.iter().enumerate() {
            let mut texts: Vec<(Kind, String)> = vec![(Kind::Question, e.question.clone())];
            texts.extend(e.similar.iter().map(|s| (Kind::Question, s.clone())));
            if !e.keywords.is_empty() {
                texts.push((Kind::Question, e.keywords.join(" ")));
            }
            texts.push((Kind::Answer, e.answer.clone()));
            let mut entry_vocab = HashSet::new();
            for (kind, t) in texts {
                let terms = analyzer.terms(&t);
                let distinct: HashSet<&String> = terms.iter().collect();
                for term in &distinct {
                    *df.entry((*term).clone()).or_default() += 1;
                }
                // A story-length similar question is found by BM25 like any other, but its many
                // everyday words would let unrelated messages "cover" the entry.
                if kind == Kind::Question && t.chars().count() <= VOCAB_MAX_CHARS {
                    entry_vocab.extend(terms.iter().cloned());
                }
                writer.add_document(doc!(
                    text => terms.join(" "),
                    entry_id => e.id.clone(),
                    doc_no => docs.len() as u64,
                ))?;
                docs.push(DocInfo { entry: i, kind, terms: distinct.into_iter().cloned().collect() });
            }
            vocab.push(entry_vocab);
        }
        writer.commit()?;
        let reader = index.reader_builder().reload_policy(ReloadPolicy::Manual).try_into()?;
        let analyzer = analyzer.with_vocabulary(&df);
        let n = docs.len() as f32;
        let idf: HashMap<String, f32> =
            df.into_iter().map(|(t, d)| (t, (1.0 + (n - d as f32 + 0.5) / (d as f32 + 0.5)).ln())).collect();
        let unknown_idf = idf.values().copied().fold(1.0f32, f32::max);
        Ok(SearchIndex {
            reader,
            text,
            unknown_idf,
            docs,
            vocab,
            idf,
            analyzer,
            thresholds: Thresholds::default(),
            dir,
        })
    }

    pub fn with_thresholds(mut self, thresholds: Thresholds) -> Self {
        self.thresholds = thresholds;
        self
    }

    pub fn analyzer(&self) -> &Analyzer {
        &self.analyzer
    }

    /// Ranked entries for `query`, best first, with the decision lawline would take.
    pub fn search(&self, query: &str, limit: usize) -> anyhow::Result<Found> {
        let off_topic = self.analyzer.off_topic(query);
        let unknown = Found { decision: Decision::Unknown, hits: vec![], off_topic, terms: 0 };
        let mut terms = self.analyzer.terms(query);
        let mut seen = HashSet::new();
        terms.retain(|t| seen.insert(t.clone()));
        if terms.is_empty() {
            return Ok(unknown);
        }
        let subqueries: Vec<(Occur, Box<dyn Query>)> = terms
            .iter()
            .map(|t| {
                let q = TermQuery::new(Term::from_field_text(self.text, t), IndexRecordOption::WithFreqs);
                (Occur::Should, Box::new(q) as Box<dyn Query>)
            })
            .collect();
        let searcher = self.reader.searcher();
        let top = searcher.search(&BooleanQuery::new(subqueries), &TopDocs::with_limit(80).order_by_score())?;

        // Unknown terms (absent from the knowledge base) count with the highest weight: a
        // question about the weather must not be answered because it also says "怎么办".
        let weight = |t: &String| self.idf.get(t).copied().unwrap_or(self.unknown_idf);
        let total: f32 = terms.iter().map(weight).sum();
        let query_terms: HashSet<&String> = terms.iter().collect();

        // Per entry: the best weighted score, and how much of its best-matching question the
        // query contains (a long story may hold a short stored question whole).
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|r| r.fast_fields().u64(DOC_NO))
            .collect::<tantivy::Result<Vec<_>>>()?;
        let mut best: HashMap<usize, (f32, f32)> = HashMap::new();
        for (score, DocAddress { segment_ord, doc_id }) in top {
            let column = &columns[segment_ord as usize];
            let Some(info) = column.first(doc_id).and_then(|n| self.docs.get(n as usize)) else {
                continue;
            };
            let s = score * info.kind.weight();
            let contained = if info.kind == Kind::Question && !info.terms.is_empty() {
                let all: f32 = info.terms.iter().map(weight).sum();
                let shared: f32 = info.terms.iter().filter(|t| query_terms.contains(t)).map(weight).sum();
                shared / all
            } else {
                0.0
            };
            let slot = best.entry(info.entry).or_default();
            *slot = (slot.0.max(s), slot.1.max(contained));
        }
        let mut hits: Vec<Hit> = best
            .into_iter()
            .map(|(entry, (score, contained))| {
                let covered: f32 = terms.iter().filter(|t| self.vocab[entry].contains(*t)).map(weight).sum();
                let coverage = (covered / total).max(contained * CONTAINED_WEIGHT);
                Hit { entry, score, coverage: coverage.clamp(0.0, 1.0) }
            })
            .collect();
        // BM25 alone favours an entry that repeats one query word; weighing it by coverage
        // favours the entry that speaks of all of them.
        for h in &mut hits {
            h.score *= COVERAGE_RANK_BASE + h.coverage;
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        hits.truncate(limit.max(3));
        let decision = decide(&hits, off_topic, terms.len(), &self.thresholds);
        hits.truncate(limit);
        Ok(Found { decision, hits, off_topic, terms: terms.len() })
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Candidates worth offering as a numbered choice.
    pub fn suggestions<'a>(&self, found: &'a Found) -> impl Iterator<Item = &'a Hit> {
        let floor = self.thresholds.suggest_coverage * 0.8;
        found.hits.iter().take(3).filter(move |h| h.coverage >= floor)
    }
}

/// A long story holds many words the knowledge base never uses, so its coverage is low even
/// when the right entry ranks first: from `LONG_QUERY_TERMS` terms on, suggesting needs less.
fn suggest_floor(terms: usize, t: &Thresholds) -> f32 {
    if terms >= LONG_QUERY_TERMS { t.suggest_coverage * LONG_QUERY_FACTOR } else { t.suggest_coverage }
}

/// Answer, suggest or "not known", from the ranked hits. An off-topic question is answered
/// only when an entry covers it almost whole.
pub fn decide(hits: &[Hit], off_topic: bool, terms: usize, t: &Thresholds) -> Decision {
    let Some(first) = hits.first() else {
        return Decision::Unknown;
    };
    if off_topic && first.coverage < OFF_TOPIC_COVERAGE {
        return Decision::Unknown;
    }
    // The best must stand out from the runner-up, by score or by how much it covers.
    let clear_lead = hits.get(1).is_none_or(|second| {
        second.score < first.score * t.answer_margin || first.coverage - second.coverage >= t.coverage_lead
    });
    if first.coverage >= t.answer_coverage && clear_lead {
        Decision::Answer
    } else if hits.iter().take(3).any(|h| h.coverage >= suggest_floor(terms, t)) {
        Decision::Suggest
    } else {
        Decision::Unknown
    }
}

/// Removes index folders left by a process that did not shut down cleanly. Call at start-up,
/// before building: each instance has its own index folder.
pub fn remove_stale_indexes(index_dir: &Path) {
    let Ok(read) = std::fs::read_dir(index_dir) else { return };
    for item in read.flatten() {
        if item.file_name().to_string_lossy().starts_with("gen-") {
            let _ = std::fs::remove_dir_all(item.path());
        }
    }
}

impl Drop for SearchIndex {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
