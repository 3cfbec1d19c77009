//! The one analyser used both to index the knowledge base and to read residents' messages:
//! normalise, segment with jieba (plus the legal-term dictionary), drop stopwords, map
//! synonyms and voice-input typos to the canonical term.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;

use super::normalize::normalize;

/// The base jieba dictionary is large (~25 MB, ~100 ms to load): one per process.
fn base_jieba() -> &'static Jieba {
    static JIEBA: OnceLock<Jieba> = OnceLock::new();
    JIEBA.get_or_init(Jieba::new)
}

/// Word lists that admins keep in `faq/dict/`.
#[derive(Debug, Default, Clone)]
pub struct Lexicon {
    /// (term, frequency) for jieba's user dictionary.
    pub terms: Vec<(String, Option<usize>)>,
    pub stopwords: HashSet<String>,
    /// variant → canonical term.
    pub synonyms: HashMap<String, String>,
}

/// A problem in a dictionary file, with its place.
#[derive(Debug, Clone, PartialEq)]
pub struct LexiconProblem {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl Lexicon {
    /// Reads `legal_terms.txt`, `stopwords.txt` and `synonyms.txt` from `dir`; a missing file is
    /// an empty list. Lines starting with `#` are comments.
    pub fn load(dir: &Path) -> (Lexicon, Vec<LexiconProblem>) {
        let mut lex = Lexicon::default();
        let mut problems = Vec::new();
        let mut read = |name: &str, f: &mut dyn FnMut(usize, &str) -> Result<(), String>| {
            let path = dir.join(name);
            let Ok(text) = std::fs::read_to_string(&path) else {
                return;
            };
            for (i, line) in text.lines().enumerate() {
                let line = line.trim();
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                if let Err(message) = f(i + 1, line) {
                    problems.push(LexiconProblem {
                        file: path.display().to_string(),
                        line: i + 1,
                        message,
                    });
                }
            }
        };
        read("legal_terms.txt", &mut |_, line| {
            let mut parts = line.split_whitespace();
            let term = parts.next().unwrap_or_default();
            let freq = match parts.next() {
                Some(f) => Some(f.parse().map_err(|_| format!("frequency {f:?} is not a number"))?),
                None => None,
            };
            lex.terms.push((normalize(term), freq));
            Ok(())
        });
        read("stopwords.txt", &mut |_, line| {
            lex.stopwords.insert(normalize(line));
            Ok(())
        });
        read("synonyms.txt", &mut |_, line| {
            let (canonical, variants) = line
                .split_once([':', '：'])
                .ok_or("expected `canonical: variant, variant`")?;
            let canonical = normalize(canonical);
            if canonical.is_empty() {
                return Err("the canonical term is empty".into());
            }
            for v in variants
                .split([',', '，', '、'])
                .map(normalize)
                .filter(|v| !v.is_empty())
            {
                if let Some(prev) = lex.synonyms.insert(v.clone(), canonical.clone())
                    && prev != canonical
                {
                    return Err(format!("{v:?} is already a variant of {prev:?}"));
                }
            }
            Ok(())
        });
        (lex, problems)
    }
}

/// Segments text into search terms. Cheap to clone.
#[derive(Clone)]
pub struct Analyzer {
    jieba: Arc<Jieba>,
    stopwords: Arc<HashSet<String>>,
    synonyms: Arc<HashMap<String, String>>,
}

impl Analyzer {
    pub fn new(lex: &Lexicon) -> Self {
        let mut jieba = base_jieba().clone();
        for (term, freq) in &lex.terms {
            jieba.add_word(term, *freq, None);
        }
        // Variants must come out of segmentation whole to be mapped ("法律援组" is no word).
        for (variant, canonical) in &lex.synonyms {
            jieba.add_word(variant, None, None);
            jieba.add_word(canonical, None, None);
        }
        Analyzer {
            jieba: Arc::new(jieba),
            stopwords: Arc::new(lex.stopwords.clone()),
            synonyms: Arc::new(lex.synonyms.clone()),
        }
    }

    /// The search terms of `text`, in order, repeats kept (they carry term frequency).
    pub fn terms(&self, text: &str) -> Vec<String> {
        let normalized = normalize(text);
        let mut out = Vec::new();
        for token in self.jieba.cut_for_search(&normalized, true) {
            let word = token.word.trim();
            if word.is_empty() || self.stopwords.contains(word) {
                continue;
            }
            let word = self.synonyms.get(word).map(String::as_str).unwrap_or(word);
            if !self.stopwords.contains(word) {
                out.push(word.to_owned());
            }
        }
        out
    }
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer")
            .field("stopwords", &self.stopwords.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lexicon() -> Lexicon {
        Lexicon {
            terms: vec![("法律援助".into(), Some(2000)), ("劳动仲裁".into(), Some(2000))],
            stopwords: ["的", "怎么", "怎么办", "吗", "我"].map(String::from).into(),
            synonyms: [("法援", "法律援助"), ("法律援组", "法律援助"), ("工钱", "工资")]
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .into(),
        }
    }

    #[test]
    fn segments_with_the_legal_dictionary_and_drops_stopwords() {
        let a = Analyzer::new(&lexicon());
        let terms = a.terms("我怎么申请法律援助？");
        assert!(terms.contains(&"法律援助".to_owned()), "{terms:?}");
        assert!(terms.contains(&"申请".to_owned()), "{terms:?}");
        assert!(!terms.iter().any(|t| t == "我" || t == "怎么"), "{terms:?}");
    }

    #[test]
    fn maps_synonyms_and_voice_typos() {
        let a = Analyzer::new(&lexicon());
        assert!(a.terms("法援").contains(&"法律援助".to_owned()));
        assert!(a.terms("想申请法律援组").contains(&"法律援助".to_owned()));
        assert!(a.terms("老板不给工钱").contains(&"工资".to_owned()));
    }

    #[test]
    fn loads_files_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("legal_terms.txt"),
            "# terms\n宅基地 3000\n司法确认 abc\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("stopwords.txt"), "的\n了\n").unwrap();
        std::fs::write(
            dir.path().join("synonyms.txt"),
            "公证: 公正\n工资 工钱\n诉讼：打官司，起诉\n",
        )
        .unwrap();
        let (lex, problems) = Lexicon::load(dir.path());
        assert_eq!(lex.terms, vec![("宅基地".to_owned(), Some(3000))]);
        assert_eq!(lex.stopwords.len(), 2);
        assert_eq!(lex.synonyms.get("打官司").map(String::as_str), Some("诉讼"));
        assert_eq!(problems.len(), 2);
        assert_eq!((problems[0].line, problems[1].line), (3, 2));
        assert!(problems[0].file.ends_with("legal_terms.txt"));
    }
}
