//! Retrieval evaluation: runs labelled queries through the same search and decision the bot
//! uses and reports top-1 accuracy, recall@3, MRR and the out-of-scope rejection rate.

use serde::{Deserialize, Serialize};

use crate::knowledge::{Decision, Entry, Hit, Knowledge, SearchIndex, Thresholds, decide};
use crate::text::Analyzer;

/// One labelled query: `expect` is an entry id, or `none` for out-of-scope.
#[derive(Debug, Clone, Deserialize)]
pub struct Case {
    pub q: String,
    pub expect: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Miss {
    pub q: String,
    pub expect: String,
    pub got: Vec<String>,
    pub decision: Decision,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// In-scope queries whose best hit is right and not rejected as unknown.
    pub top1: f64,
    pub recall3: f64,
    pub mrr: f64,
    /// Out-of-scope queries the bot declines to answer.
    pub oos_rejection: f64,
    /// In-scope queries answered outright with the wrong entry: the costliest error.
    pub wrong_answer: f64,
    /// In-scope queries answered outright (not offered as choices, not rejected).
    pub answered: f64,
    pub n: usize,
    pub n_in_scope: usize,
    pub n_out_of_scope: usize,
    #[serde(skip)]
    pub misses: Vec<Miss>,
}

pub fn parse_cases(jsonl: &str) -> Result<Vec<Case>, String> {
    jsonl
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| serde_json::from_str(l).map_err(|e| format!("line {}: {e}", i + 1)))
        .collect()
}

/// Each case with the ranked hits the search gave it (ids, best first) and the hits themselves.
pub struct Searched {
    pub case: Case,
    pub hits: Vec<Hit>,
    pub ids: Vec<String>,
    pub off_topic: bool,
    pub terms: usize,
}

/// Runs every case through the search once.
pub fn search_all(kb: &Knowledge, cases: &[Case]) -> Vec<Searched> {
    cases
        .iter()
        .map(|case| {
            let found = kb.search(&case.q, 10);
            let ids = found.hits.iter().map(|h| kb.entries[h.entry].id.clone()).collect();
            Searched { case: case.clone(), hits: found.hits, ids, off_topic: found.off_topic, terms: found.terms }
        })
        .collect()
}

pub fn evaluate(kb: &Knowledge, cases: &[Case]) -> Report {
    score(&search_all(kb, cases), kb.index().thresholds(), kb.bot.lists_related())
}

/// The metrics of searched cases under the given decision thresholds.
/// `related`: the bot lists related questions under an answer (`bot.toml` `related_intro`).
pub fn score(searched: &[Searched], thresholds: &Thresholds, related: bool) -> Report {
    let (mut top1, mut recall3, mut rr, mut rejected, mut wrong, mut answered) =
        (0usize, 0usize, 0.0f64, 0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    let (mut n_in, mut n_out) = (0usize, 0usize);
    for Searched { case, hits, ids, off_topic, terms } in searched {
        let decision = decide(hits, *off_topic, *terms, thresholds);
        let miss = || Miss {
            q: case.q.clone(),
            expect: case.expect.clone(),
            got: ids.iter().take(3).cloned().collect(),
            decision,
        };
        if case.expect == "none" {
            n_out += 1;
            if decision == Decision::Unknown {
                rejected += 1;
            } else {
                misses.push(miss());
            }
            continue;
        }
        n_in += 1;
        // Ranks among what the resident is shown: the answer (and the related questions listed
        // under it), the offered choices, or nothing.
        let offered = hits.iter().zip(ids).take(3).filter(|(h, _)| thresholds.offers(h, *terms)).map(|(_, id)| id);
        let shown: Vec<&String> = match decision {
            Decision::Answer if related => ids.iter().take(1).chain(offered.filter(|id| **id != ids[0])).collect(),
            Decision::Answer => ids.iter().take(1).collect(),
            Decision::Suggest => offered.collect(),
            Decision::Unknown => vec![],
        };
        let rank = shown.iter().position(|id| **id == case.expect);
        if rank == Some(0) {
            top1 += 1;
        } else {
            misses.push(miss());
        }
        if let Some(r) = rank {
            recall3 += 1;
            rr += 1.0 / (r as f64 + 1.0);
        }
        if decision == Decision::Answer {
            answered += 1;
            if rank != Some(0) {
                wrong += 1;
            }
        }
    }
    let share = |k: usize, n: usize| if n == 0 { 0.0 } else { k as f64 / n as f64 };
    Report {
        top1: share(top1, n_in),
        recall3: share(recall3, n_in),
        mrr: if n_in == 0 { 0.0 } else { rr / n_in as f64 },
        oos_rejection: share(rejected, n_out),
        wrong_answer: share(wrong, n_in),
        answered: share(answered, n_in),
        n: searched.len(),
        n_in_scope: n_in,
        n_out_of_scope: n_out,
        misses,
    }
}

/// Tries a grid of thresholds and returns them with their reports, best first: the most
/// top-1 hits among settings that reject at least `min_oos` of out-of-scope questions and
/// answer wrongly at most `max_wrong` of in-scope ones.
pub fn sweep(searched: &[Searched], related: bool, min_oos: f64, max_wrong: f64) -> Vec<(Thresholds, Report)> {
    let steps = |from: f32, to: f32, step: f32| {
        let n = ((to - from) / step).round() as usize;
        (0..=n).map(move |i| from + step * i as f32)
    };
    let mut results = Vec::new();
    for answer_coverage in steps(0.3, 0.7, 0.1) {
        for suggest_coverage in steps(0.1, 0.5, 0.1) {
            for unanchored_answer_coverage in steps(0.5, 0.9, 0.1) {
                for unanchored_suggest_coverage in steps(0.5, 1.0, 0.1) {
                    for answer_margin in [0.6, 0.7, 0.8] {
                        for coverage_lead in [0.1, 0.15, 0.2] {
                            let t = Thresholds {
                                answer_coverage,
                                suggest_coverage,
                                unanchored_answer_coverage,
                                unanchored_suggest_coverage,
                                answer_margin,
                                coverage_lead,
                            };
                            let r = score(searched, &t, related);
                            if r.oos_rejection >= min_oos && r.wrong_answer <= max_wrong {
                                results.push((t, r));
                            }
                        }
                    }
                }
            }
        }
    }
    results.sort_by(|a, b| {
        (b.1.top1 + b.1.recall3 + b.1.answered * 0.5).total_cmp(&(a.1.top1 + a.1.recall3 + a.1.answered * 0.5))
    });
    results
}

/// Retrieval on the public legal Q&A data (LeCoQA and LawBench 3-8): the answers are the
/// documents, each question is a query whose right document is its own answer.
pub struct PublicReport {
    pub n: usize,
    pub recall1: f64,
    pub recall5: f64,
    pub mrr: f64,
}

/// (question, answer) pairs from `dir` (the shared legal-qa folder).
pub fn public_pairs(dir: &std::path::Path) -> anyhow::Result<Vec<(String, String)>> {
    let mut pairs = Vec::new();
    // The file was written by Python and has bare NaN values, which JSON does not allow.
    let lecoqa =
        std::fs::read_to_string(dir.join("raw/oneal2000__LeCoQA/data/queries.json"))?.replace(": NaN", ": null");
    let lecoqa: serde_json::Value = serde_json::from_str(&lecoqa)?;
    for item in lecoqa.as_array().into_iter().flatten() {
        if let (Some(q), Some(a)) = (item["问题"].as_str(), item["答案文本"].as_str())
            && a.chars().count() > 20
        {
            pairs.push((q.to_owned(), strip_markup(a)));
        }
    }
    let lawbench: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(
        dir.join("raw/open-compass__LawBench/data/zero_shot/3-8.json"),
    )?)?;
    for item in lawbench.as_array().into_iter().flatten() {
        if let (Some(q), Some(a)) = (item["question"].as_str(), item["answer"].as_str()) {
            let a = strip_markup(a);
            pairs.push((q.to_owned(), a.trim_start_matches("回答:").trim_start_matches("回答：").to_owned()));
        }
    }
    Ok(pairs)
}

fn strip_markup(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut in_tag = false;
    for c in s.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => in_tag = false,
            _ if !in_tag => out.push(c),
            _ => {}
        }
    }
    out.replace("&nbsp;", " ").replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")
}

/// Ranks every answer for every question with `analyzer`; reports recall@1, recall@5 and MRR.
pub fn public_eval(
    pairs: &[(String, String)],
    analyzer: Analyzer,
    index_dir: &std::path::Path,
) -> anyhow::Result<PublicReport> {
    let entries: Vec<Entry> = pairs
        .iter()
        .enumerate()
        .map(|(i, (_, a))| Entry {
            id: format!("doc-{i}"),
            category: String::new(),
            question: String::new(),
            similar: vec![],
            keywords: vec![],
            answer: a.clone(),
            source: Some("public".into()),
            file: String::new(),
            similar_line: 0,
        })
        .collect();
    let index = SearchIndex::build(&entries, analyzer, index_dir)?;
    let (mut r1, mut r5, mut rr) = (0usize, 0usize, 0.0f64);
    for (i, (q, _)) in pairs.iter().enumerate() {
        let found = index.search(q, 10)?;
        if let Some(rank) = found.hits.iter().position(|h| h.entry == i) {
            r1 += usize::from(rank == 0);
            r5 += usize::from(rank < 5);
            rr += 1.0 / (rank as f64 + 1.0);
        }
    }
    let n = pairs.len().max(1) as f64;
    Ok(PublicReport { n: pairs.len(), recall1: r1 as f64 / n, recall5: r5 as f64 / n, mrr: rr / n })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::knowledge::Thresholds;

    fn searched(q: &str, expect: &str, ranked: &[(&str, f32, f32)]) -> Searched {
        Searched {
            case: Case { q: q.into(), expect: expect.into() },
            hits: ranked
                .iter()
                .enumerate()
                .map(|(entry, &(_, score, coverage))| Hit { entry, score, coverage, anchored: true, exact: false })
                .collect(),
            ids: ranked.iter().map(|(id, ..)| id.to_string()).collect(),
            off_topic: false,
            terms: 3,
        }
    }

    #[test]
    fn metrics_count_what_the_resident_is_shown() {
        let t = Thresholds::default();
        let cases = [
            // Answered right.
            searched("a", "x", &[("x", 10.0, 0.9), ("y", 2.0, 0.2)]),
            // Answered wrong, the right entry second: shown only in the related list.
            searched("b", "y", &[("x", 10.0, 0.9), ("y", 2.0, 0.5)]),
            // Nothing covers it: not known, so no credit although "z" ranks first.
            searched("c", "z", &[("z", 10.0, 0.0)]),
            // Out of scope and rejected.
            searched("d", "none", &[]),
        ];
        let with_related = score(&cases, &t, true);
        assert_eq!((with_related.n_in_scope, with_related.n_out_of_scope), (3, 1));
        assert!((with_related.top1 - 1.0 / 3.0).abs() < 1e-9);
        assert!((with_related.recall3 - 2.0 / 3.0).abs() < 1e-9);
        assert!((with_related.wrong_answer - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(with_related.oos_rejection, 1.0);
        let without = score(&cases, &t, false);
        assert!((without.recall3 - 1.0 / 3.0).abs() < 1e-9);
        assert_eq!(without.misses.len(), 2);
    }
}
