//! Retrieval evaluation: runs labelled queries through the same search and decision the bot
//! uses and reports top-1 accuracy, recall@3, MRR and the out-of-scope rejection rate.

use serde::{Deserialize, Serialize};

use crate::knowledge::{Decision, Knowledge};

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

pub fn evaluate(kb: &Knowledge, cases: &[Case]) -> Report {
    let (mut top1, mut recall3, mut rr, mut rejected, mut wrong, mut answered) =
        (0usize, 0usize, 0.0f64, 0usize, 0usize, 0usize);
    let mut misses = Vec::new();
    let (mut n_in, mut n_out) = (0usize, 0usize);
    for case in cases {
        let found = kb.search(&case.q, 10);
        let ids: Vec<String> = found.hits.iter().map(|h| kb.entries[h.entry].id.clone()).collect();
        let miss = || Miss {
            q: case.q.clone(),
            expect: case.expect.clone(),
            got: ids.iter().take(3).cloned().collect(),
            decision: found.decision,
        };
        if case.expect == "none" {
            n_out += 1;
            if found.decision == Decision::Unknown {
                rejected += 1;
            } else {
                misses.push(miss());
            }
            continue;
        }
        n_in += 1;
        let rank = ids.iter().position(|id| *id == case.expect);
        let known = found.decision != Decision::Unknown;
        if known && rank == Some(0) {
            top1 += 1;
        } else {
            misses.push(miss());
        }
        if known && rank.is_some_and(|r| r < 3) {
            recall3 += 1;
        }
        if let Some(r) = rank.filter(|_| known) {
            rr += 1.0 / (r as f64 + 1.0);
        }
        if found.decision == Decision::Answer {
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
        n: cases.len(),
        n_in_scope: n_in,
        n_out_of_scope: n_out,
        misses,
    }
}
