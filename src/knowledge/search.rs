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

/// Documents fetched from tantivy per query, before they are grouped by entry.
const CANDIDATE_DOCS: usize = 200;

/// An entry's BM25 is that of its best three documents, each counting half the one before:
/// an entry that several stored questions match outranks one that a single question does.
const DOC_DECAY: [f32; 3] = [1.0, 0.5, 0.25];

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
/// A hit is *anchored* when the entry shares a legal term with the question (法律援助, 工资,
/// 离婚…): everyday words alone ("在哪办", "多少钱") need more coverage to count.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct Thresholds {
    pub answer_coverage: f32,
    pub suggest_coverage: f32,
    pub unanchored_answer_coverage: f32,
    pub unanchored_suggest_coverage: f32,
    /// The runner-up must score below this share of the best to answer outright.
    pub answer_margin: f32,
    /// …or cover this much more of the question than the runner-up.
    pub coverage_lead: f32,
}

impl Thresholds {
    /// Plain BM25 as a baseline has no decision: it lists its best three hits, always.
    pub fn ranked_list() -> Self {
        Thresholds {
            answer_coverage: f32::INFINITY,
            suggest_coverage: 0.0,
            unanchored_answer_coverage: f32::INFINITY,
            unanchored_suggest_coverage: 0.0,
            answer_margin: 0.0,
            coverage_lead: f32::INFINITY,
        }
    }

    /// Whether a "suggest" decision offers this hit (one of the best three) to the resident.
    pub fn offers(&self, hit: &Hit, terms: usize) -> bool {
        hit.coverage >= self.suggest_floor(hit, terms) * 0.8
    }

    fn answer_floor(&self, hit: &Hit) -> f32 {
        if hit.anchored { self.answer_coverage } else { self.unanchored_answer_coverage }
    }

    /// A long story holds many words the knowledge base never uses, so its coverage is low
    /// even when the right entry ranks first: from `LONG_QUERY_TERMS` terms on, suggesting
    /// needs less.
    fn suggest_floor(&self, hit: &Hit, terms: usize) -> f32 {
        let floor = if hit.anchored { self.suggest_coverage } else { self.unanchored_suggest_coverage };
        if terms >= LONG_QUERY_TERMS { floor * LONG_QUERY_FACTOR } else { floor }
    }
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            answer_coverage: 0.3,
            suggest_coverage: 0.1,
            unanchored_answer_coverage: 0.7,
            unanchored_suggest_coverage: 0.6,
            answer_margin: 0.8,
            coverage_lead: 0.1,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Hit {
    /// Index into the knowledge base's entries.
    pub entry: usize,
    pub score: f32,
    /// IDF-weighted share of the query's terms found in the entry's own questions, 0..=1.
    pub coverage: f32,
    /// The entry's questions share a legal term with the query.
    pub anchored: bool,
    /// One of the entry's stored questions says exactly what the query says (same terms).
    pub exact: bool,
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

/// One term of a query as `SearchIndex::explain_terms` reports it.
pub struct TermInfo {
    pub term: String,
    pub weight: f32,
    pub known: bool,
    pub legal: bool,
}

/// An entry's matched documents while a query's results are grouped.
#[derive(Default)]
struct Candidate {
    /// Its best document scores, best first (at most `DOC_DECAY.len()`).
    scores: Vec<f32>,
    /// How much of its best-matching question the query contains.
    contained: f32,
    /// One of its questions has exactly the query's terms.
    exact: bool,
}

impl Candidate {
    fn add(&mut self, score: f32, contained: f32, exact: bool) {
        self.exact |= exact;
        let at = self.scores.partition_point(|&s| s >= score);
        if at < DOC_DECAY.len() {
            self.scores.insert(at, score);
            self.scores.truncate(DOC_DECAY.len());
        }
        self.contained = self.contained.max(contained);
    }
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
        let terms = self.distinct_terms(query);
        let off_topic = self.analyzer.off_topic(query, &terms);
        let unknown = Found { decision: Decision::Unknown, hits: vec![], off_topic, terms: 0 };
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
        let top =
            searcher.search(&BooleanQuery::new(subqueries), &TopDocs::with_limit(CANDIDATE_DOCS).order_by_score())?;

        // Unknown terms (absent from the knowledge base) count with the highest weight: a
        // question about the weather must not be answered because it also says "怎么办".
        let weight = |t: &String| self.weight(t);
        let total: f32 = terms.iter().map(weight).sum();
        let query_terms: HashSet<&String> = terms.iter().collect();

        // Per entry: its best document scores, and how much of its best-matching question the
        // query contains (a long story may hold a short stored question whole).
        let columns = searcher
            .segment_readers()
            .iter()
            .map(|r| r.fast_fields().u64(DOC_NO))
            .collect::<tantivy::Result<Vec<_>>>()?;
        // The baseline ranks by its best document's BM25 alone.
        let plain = self.analyzer.is_plain();
        let mut best: HashMap<usize, Candidate> = HashMap::new();
        for (score, DocAddress { segment_ord, doc_id }) in top {
            let column = &columns[segment_ord as usize];
            let Some(info) = column.first(doc_id).and_then(|n| self.docs.get(n as usize)) else {
                continue;
            };
            let s = if plain { score } else { score * info.kind.weight() };
            let contained = if info.kind == Kind::Question && !info.terms.is_empty() {
                let all: f32 = info.terms.iter().map(weight).sum();
                let shared: f32 = info.terms.iter().filter(|t| query_terms.contains(t)).map(weight).sum();
                shared / all
            } else {
                0.0
            };
            let exact = !plain
                && info.kind == Kind::Question
                && info.terms.len() == query_terms.len()
                && info.terms.iter().all(|t| query_terms.contains(t));
            best.entry(info.entry).or_default().add(s, contained, exact);
        }
        let mut hits: Vec<Hit> = best
            .into_iter()
            .map(|(entry, Candidate { scores, contained, exact })| {
                let score = if plain { scores[0] } else { scores.iter().zip(DOC_DECAY).map(|(s, d)| s * d).sum() };
                let shared = || terms.iter().filter(|t| self.vocab[entry].contains(*t));
                let covered: f32 = shared().map(weight).sum();
                let coverage = (covered / total).max(contained * CONTAINED_WEIGHT);
                let anchored = shared().any(|t| self.analyzer.is_legal_term(t));
                Hit { entry, score, coverage: coverage.clamp(0.0, 1.0), anchored, exact }
            })
            .collect();
        // BM25 alone favours an entry that repeats one query word; weighing it by coverage
        // favours the entry that speaks of all of them.
        if !plain {
            for h in &mut hits {
                h.score *= COVERAGE_RANK_BASE + h.coverage;
            }
        }
        hits.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.entry.cmp(&b.entry)));
        hits.truncate(limit.max(3));
        let decision = decide(&hits, off_topic, terms.len(), &self.thresholds);
        hits.truncate(limit);
        Ok(Found { decision, hits, off_topic, terms: terms.len() })
    }

    /// How the query is read, for `lawline ask --explain`: its distinct terms, each with its
    /// weight in coverage, whether the knowledge base uses it, and whether it is a legal term.
    pub fn explain_terms(&self, query: &str) -> Vec<TermInfo> {
        self.distinct_terms(query)
            .into_iter()
            .map(|term| TermInfo {
                weight: self.weight(&term),
                known: self.idf.contains_key(&term),
                legal: self.analyzer.is_legal_term(&term),
                term,
            })
            .collect()
    }

    /// The query's terms, each once, in order.
    fn distinct_terms(&self, query: &str) -> Vec<String> {
        let mut terms = self.analyzer.terms(query);
        let mut seen = HashSet::new();
        terms.retain(|t| seen.insert(t.clone()));
        terms
    }

    /// A term's weight in coverage: its IDF, or that of the rarest known term when the
    /// knowledge base never uses it.
    fn weight(&self, term: &str) -> f32 {
        self.idf.get(term).copied().unwrap_or(self.unknown_idf)
    }

    pub fn thresholds(&self) -> &Thresholds {
        &self.thresholds
    }

    /// Candidates worth offering as a numbered choice.
    pub fn suggestions<'a>(&self, found: &'a Found) -> impl Iterator<Item = &'a Hit> {
        found.hits.iter().take(3).filter(|h| self.thresholds.offers(h, found.terms))
    }
}

/// Answer, suggest or "not known", from the ranked hits. An off-topic question is answered
/// only when an entry covers it almost whole.
pub fn decide(hits: &[Hit], off_topic: bool, terms: usize, t: &Thresholds) -> Decision {
    let Some(first) = hits.first() else {
        return Decision::Unknown;
    };
    if off_topic && first.coverage < OFF_TOPIC_COVERAGE {
        // A story may mention the price of eggs on its way to unpaid wages: with a legal
        // term shared, lawline still offers choices, but never answers outright.
        let offers = hits.iter().take(3).any(|h| h.anchored && h.coverage >= t.suggest_floor(h, terms));
        return if offers { Decision::Suggest } else { Decision::Unknown };
    }
    // A stored question asked as written is answered, unless another entry stores it too.
    if first.exact && !hits.get(1).is_some_and(|h| h.exact) {
        return Decision::Answer;
    }
    // The best must stand out from the runner-up, by score or by how much it covers.
    let clear_lead = hits.get(1).is_none_or(|second| {
        second.score < first.score * t.answer_margin || first.coverage - second.coverage >= t.coverage_lead
    });
    if first.coverage >= t.answer_floor(first) && clear_lead {
        Decision::Answer
    } else if hits.iter().take(3).any(|h| h.coverage >= t.suggest_floor(h, terms)) {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(entry: usize, score: f32, coverage: f32, anchored: bool) -> Hit {
        Hit { entry, score, coverage, anchored, exact: false }
    }

    /// Fixed here, so that recalibrating the defaults does not change what these tests mean.
    const T: Thresholds = Thresholds {
        answer_coverage: 0.35,
        suggest_coverage: 0.15,
        unanchored_answer_coverage: 0.7,
        unanchored_suggest_coverage: 0.6,
        answer_margin: 0.8,
        coverage_lead: 0.1,
    };

    #[test]
    fn a_shared_legal_term_lets_less_coverage_count() {
        let runner_up = hit(1, 3.0, 0.2, false);
        let with_term = [hit(0, 10.0, 0.4, true), runner_up.clone()];
        let without = [hit(0, 10.0, 0.4, false), runner_up];
        assert_eq!(decide(&with_term, false, 4, &T), Decision::Answer);
        assert_eq!(decide(&without, false, 4, &T), Decision::Unknown);
        let suggestible = [hit(0, 10.0, 0.65, false), hit(1, 9.5, 0.65, false)];
        assert_eq!(decide(&suggestible, false, 4, &T), Decision::Suggest);
    }

    #[test]
    fn a_close_runner_up_turns_an_answer_into_choices_unless_the_question_is_stored_as_asked() {
        let close = [hit(0, 10.0, 0.9, true), hit(1, 9.0, 0.85, true)];
        assert_eq!(decide(&close, false, 4, &T), Decision::Suggest);
        let stored = [Hit { exact: true, ..close[0].clone() }, close[1].clone()];
        assert_eq!(decide(&stored, false, 4, &T), Decision::Answer);
        let both = [stored[0].clone(), Hit { exact: true, ..close[1].clone() }];
        assert_eq!(decide(&both, false, 4, &T), Decision::Suggest);
    }

    #[test]
    fn off_topic_messages_get_choices_only_with_a_legal_term_and_an_answer_only_when_covered_whole() {
        let plain = [hit(0, 10.0, 0.8, false), hit(1, 2.0, 0.1, false)];
        assert_eq!(decide(&plain, true, 4, &T), Decision::Unknown);
        let legal = [hit(0, 10.0, 0.8, true), hit(1, 2.0, 0.1, false)];
        assert_eq!(decide(&legal, true, 4, &T), Decision::Suggest);
        let whole = [hit(0, 10.0, 0.95, false), hit(1, 2.0, 0.1, false)];
        assert_eq!(decide(&whole, true, 4, &T), Decision::Answer);
        assert_eq!(decide(&[], false, 0, &T), Decision::Unknown);
    }

    #[test]
    fn long_messages_need_less_coverage_to_be_offered() {
        let h = hit(0, 10.0, 0.4, false);
        assert!(!T.offers(&h, 4));
        assert!(T.offers(&h, LONG_QUERY_TERMS));
    }

    #[test]
    fn an_entry_keeps_its_three_best_documents_in_order() {
        let mut c = Candidate::default();
        for (score, contained) in [(2.0, 0.1), (5.0, 0.5), (1.0, 0.9), (4.0, 0.0), (3.0, 0.2)] {
            c.add(score, contained, false);
        }
        assert_eq!(c.scores, vec![5.0, 4.0, 3.0]);
        assert_eq!(c.contained, 0.9);
        assert!(!c.exact);
    }
}
