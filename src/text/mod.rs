//! Chinese text as residents write it: normalisation and segmentation into search terms.

mod analyzer;
mod normalize;
mod pinyin;

pub use analyzer::{Analyzer, Lexicon, LexiconProblem};
pub use normalize::normalize;
