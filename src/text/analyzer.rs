//! The one analyser used both to index the knowledge base and to read residents' messages:
//! normalise, segment with jieba (plus the legal-term dictionary), drop stopwords, map
//! synonyms and voice-input typos to the canonical term.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::{Arc, OnceLock};

use jieba_rs::Jieba;

use super::normalize::normalize;
use super::pinyin;

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
    /// Legal terms that mark a question as being about a legal matter: every term of
    /// `legal_terms.txt` but place names (tagged `ns`).
    pub legal: HashSet<String>,
    pub stopwords: HashSet<String>,
    /// variant → canonical term.
    pub synonyms: HashMap<String, String>,
    /// Words that mark a message as outside legal services (weather, shopping, tickets…).
    pub out_of_scope: Vec<String>,
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
                    problems.push(LexiconProblem { file: path.display().to_string(), line: i + 1, message });
                }
            }
        };
        // `term [frequency] [tag]`; the tag `ns` marks a place name.
        read("legal_terms.txt", &mut |_, line| {
            let parts: Vec<&str> = line.split_whitespace().collect();
            let (term, rest) = (normalize(parts[0]), &parts[1..]);
            let (freq, tag) = match rest {
                [] => (None, None),
                [one] if one.chars().all(|c| c.is_ascii_digit()) => (Some(one), None),
                [one] => (None, Some(*one)),
                [f, t] => (Some(f), Some(*t)),
                _ => return Err("expected `term [frequency] [tag]`".into()),
            };
            let freq = match freq {
                Some(f) => Some(f.parse().map_err(|_| format!("frequency {f:?} is not a number"))?),
                None => None,
            };
            if tag != Some("ns") {
                lex.legal.insert(term.clone());
            }
            lex.terms.push((term, freq));
            Ok(())
        });
        read("stopwords.txt", &mut |_, line| {
            lex.stopwords.insert(normalize(line));
            Ok(())
        });
        read("out_of_scope.txt", &mut |_, line| {
            let word = normalize(line).replace(' ', "");
            if !word.is_empty() {
                lex.out_of_scope.push(word);
            }
            Ok(())
        });
        read("synonyms.txt", &mut |_, line| {
            let (canonical, variants) = line.split_once([':', '：']).ok_or("expected `canonical: variant, variant`")?;
            let canonical = normalize(canonical);
            if canonical.is_empty() {
                return Err("the canonical term is empty".into());
            }
            for v in variants.split([',', '，', '、']).map(normalize).filter(|v| !v.is_empty()) {
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
    out_of_scope: Arc<Vec<String>>,
    /// The terms of each out-of-scope phrase of two or more terms, so that "低保咋申请" matches
    /// "申请低保" whatever the order and the filler words.
    out_of_scope_terms: Arc<Vec<Vec<String>>>,
    /// Legal terms, as `terms` gives them (synonyms mapped).
    legal: Arc<HashSet<String>>,
    /// Fuzzy pinyin key → the knowledge base's own term, once the vocabulary is known.
    sounds: Arc<HashMap<String, String>>,
    /// The knowledge base's own terms; these are never re-mapped by sound.
    vocabulary: Arc<HashSet<String>>,
    /// Plain BM25 baseline: jieba only, no normalisation, stopwords or synonyms.
    plain: bool,
}

/// Longest run of typed pinyin words joined into one term ("fa lv yuan zhu").
const MAX_PINYIN_WORDS: usize = 4;

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
        let legal = lex.legal.iter().map(|t| lex.synonyms.get(t).unwrap_or(t).clone()).collect();
        let analyzer = Analyzer {
            jieba: Arc::new(jieba),
            stopwords: Arc::new(lex.stopwords.clone()),
            synonyms: Arc::new(lex.synonyms.clone()),
            out_of_scope: Arc::new(lex.out_of_scope.clone()),
            out_of_scope_terms: Arc::default(),
            legal: Arc::new(legal),
            sounds: Arc::default(),
            vocabulary: Arc::default(),
            plain: false,
        };
        analyzer.with_phrase_terms()
    }

    /// Reads the out-of-scope phrases as terms; again once the vocabulary changes how they read.
    fn with_phrase_terms(mut self) -> Self {
        let phrases = self.out_of_scope.iter().map(|p| self.terms(p)).filter(|t| t.len() >= 2).collect();
        self.out_of_scope_terms = Arc::new(phrases);
        self
    }

    /// The baseline analyser: jieba's search-mode segmentation of the raw text, nothing else.
    pub fn plain() -> Self {
        Analyzer {
            jieba: Arc::new(base_jieba().clone()),
            stopwords: Arc::default(),
            synonyms: Arc::default(),
            out_of_scope: Arc::default(),
            out_of_scope_terms: Arc::default(),
            legal: Arc::default(),
            sounds: Arc::default(),
            vocabulary: Arc::default(),
            plain: true,
        }
    }

    /// Teaches the analyser the knowledge base's vocabulary (term → document frequency), so
    /// that typed pinyin and homophones of those terms map onto them. The most frequent term
    /// wins a shared key.
    pub fn with_vocabulary(mut self, vocabulary: &HashMap<String, u32>) -> Self {
        let mut best: HashMap<String, (&str, u32)> = HashMap::new();
        for (term, &df) in vocabulary {
            if term.chars().count() < 2 || !term.chars().all(|c| ('\u{4E00}'..='\u{9FFF}').contains(&c)) {
                continue;
            }
            if let Some(key) = pinyin::han_key(term) {
                let slot = best.entry(key).or_insert((term, df));
                if df > slot.1 || (df == slot.1 && term.as_str() < slot.0) {
                    *slot = (term, df);
                }
            }
        }
        let mut sounds: HashMap<String, String> = best.into_iter().map(|(k, (t, _))| (k, t.to_owned())).collect();
        // Residents type the everyday word's pinyin ("jiabao" for 家暴): a synonym's sound
        // leads to its canonical term, unless a term of the knowledge base has that sound.
        let mut variants: Vec<(&String, &String)> = self.synonyms.iter().collect();
        variants.sort();
        for (variant, canonical) in variants {
            if variant.chars().count() >= 2
                && vocabulary.contains_key(canonical)
                && let Some(key) = pinyin::han_key(variant)
            {
                sounds.entry(key).or_insert_with(|| canonical.clone());
            }
        }
        self.sounds = Arc::new(sounds);
        self.vocabulary = Arc::new(vocabulary.keys().cloned().collect());
        self.with_phrase_terms()
    }

    /// True when the text names something outside legal services (`dict/out_of_scope.txt`):
    /// it contains a phrase of the list, or, naming no legal term, all the terms of one
    /// (`terms` are the text's: "低保咋申请" is "低保申请", "低保户申请法律援助" is not).
    pub fn off_topic(&self, text: &str, terms: &[String]) -> bool {
        let compact = normalize(text).replace(' ', "");
        self.out_of_scope.iter().any(|w| compact.contains(w.as_str()))
            || !terms.iter().any(|t| self.is_legal_term(t))
                && self.out_of_scope_terms.iter().any(|phrase| phrase.iter().all(|t| terms.contains(t)))
    }

    /// The baseline analyser: the search that uses it ranks by plain BM25 too.
    pub fn is_plain(&self) -> bool {
        self.plain
    }

    /// True when `term` (as `terms` gives it) is a legal term.
    pub fn is_legal_term(&self, term: &str) -> bool {
        self.legal.contains(term)
    }

    /// The search terms of `text`, in order, repeats kept (they carry term frequency).
    pub fn terms(&self, text: &str) -> Vec<String> {
        if self.plain {
            return self
                .jieba
                .cut_for_search(text, true)
                .into_iter()
                .map(|t| t.word.trim().to_lowercase())
                .filter(|w| w.chars().any(char::is_alphanumeric))
                .collect();
        }
        let normalized = normalize(text);
        let tokens: Vec<&str> = self
            .jieba
            .cut_for_search(&normalized, true)
            .into_iter()
            .map(|t| t.word.trim())
            .filter(|w| !w.is_empty())
            .collect();
        let mut out = Vec::new();
        let mut push = |word: String| {
            if self.stopwords.contains(word.as_str()) {
                return;
            }
            let word = self.synonyms.get(&word).cloned().unwrap_or(word);
            if !self.stopwords.contains(&word) {
                out.push(word);
            }
        };
        let mut i = 0;
        while i < tokens.len() {
            let (resolved, used) = self.resolve(&tokens[i..]);
            let by_sound = resolved.as_deref().is_some_and(|w| w != tokens[i]);
            i += used;
            match resolved {
                // A term found by its sound is segmented as if it had been typed, so that
                // "falv yuanzhu shenqing" gives 法律援助 and 申请 as well as 法律援助申请.
                Some(word) if by_sound => {
                    for part in self.jieba.cut_for_search(&word, true) {
                        push(part.word.to_owned());
                    }
                }
                Some(word) => push(word),
                None => {}
            }
        }
        out
    }

    /// The term starting at `tokens[0]` (None: drop it) and how many tokens it used. Typed
    /// pinyin words are joined into the longest run that names a known term, and pinyin that
    /// names none (bu, de, zenme) is dropped; an unknown Chinese word that sounds like a known
    /// term becomes that term.
    fn resolve(&self, tokens: &[&str]) -> (Option<String>, usize) {
        let first = tokens[0];
        if self.sounds.is_empty() || self.vocabulary.contains(first) || self.synonyms.contains_key(first) {
            return (Some(first.to_owned()), 1);
        }
        let is_letters = |t: &&str| t.chars().all(|c| c.is_ascii_alphabetic());
        if is_letters(&first) {
            let words: Vec<&str> =
                tokens.iter().take(MAX_PINYIN_WORDS).take_while(|t| is_letters(t)).copied().collect();
            for n in (1..=words.len()).rev() {
                if let Some(term) = self.sounds.get(&pinyin::typed_key(&words[..n].concat())) {
                    return (Some(term.clone()), n);
                }
            }
            return (None, 1);
        }
        if first.chars().count() >= 2
            && let Some(term) = pinyin::han_key(first).and_then(|k| self.sounds.get(&k))
        {
            return (Some(term.clone()), 1);
        }
        (Some(first.to_owned()), 1)
    }
}

impl std::fmt::Debug for Analyzer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Analyzer").field("stopwords", &self.stopwords.len()).finish()
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
            out_of_scope: vec!["天气".into(), "火车票".into(), "低保申请".into()],
            legal: ["法律援助", "劳动仲裁", "法援"].map(String::from).into(),
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
    fn legal_terms_are_known_after_synonyms() {
        let a = Analyzer::new(&lexicon());
        assert!(a.is_legal_term("法律援助"));
        assert!(a.terms("法援").iter().all(|t| a.is_legal_term(t)));
        assert!(!a.is_legal_term("工资"));
    }

    #[test]
    fn off_topic_words() {
        let a = Analyzer::new(&lexicon());
        let off = |text: &str| a.off_topic(text, &a.terms(text));
        assert!(off("明天天气咋样"));
        assert!(off("去北京的火 车 票"));
        assert!(!off("公司不发工资"));
        // A phrase's terms in any order count, unless the message names a legal term.
        assert!(off("申请低保咋弄"));
        assert!(!off("低保户申请法律援助"));
    }

    #[test]
    fn typed_pinyin_and_homophones_map_onto_known_terms() {
        let vocab: HashMap<String, u32> = [("公司", 5), ("工资", 9), ("法律援助", 7), ("公证", 4), ("离婚", 6)]
            .map(|(t, n)| (t.to_owned(), n))
            .into();
        let a = Analyzer::new(&lexicon()).with_vocabulary(&vocab);
        assert_eq!(a.terms("gongsi bu fa gongzi"), vec!["公司", "工资"]);
        // A term found by sound is segmented as typed Chinese would be (法律, 援助, 法律援助).
        assert_eq!(a.terms("falv yuanzhu"), a.terms("法律援助"));
        assert_eq!(a.terms("falvyuanzhu"), a.terms("法律援助"));
        assert!(a.terms("falv yuanzhu").contains(&"法律援助".to_owned()));
        // A synonym's pinyin leads to its canonical term.
        assert_eq!(a.terms("gongqian"), vec!["工资"]);
        assert!(a.terms("我想办个公正").contains(&"公证".to_owned()));
        assert!(a.terms("想离昏").contains(&"离婚".to_owned()) || a.terms("想离昏").contains(&"昏".to_owned()));
        // Known words are never re-mapped, and the plain baseline does none of this.
        assert_eq!(a.terms("公司"), vec!["公司"]);
        assert!(Analyzer::plain().terms("falv yuanzhu").contains(&"falv".to_owned()));
    }

    #[test]
    fn loads_files_and_reports_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("legal_terms.txt"),
            "# terms\n宅基地 3000\n司法确认 abc x\n河口区 1500 ns\n欠薪\n",
        )
        .unwrap();
        std::fs::write(dir.path().join("stopwords.txt"), "的\n了\n").unwrap();
        std::fs::write(dir.path().join("synonyms.txt"), "公证: 公正\n工资 工钱\n诉讼：打官司，起诉\n").unwrap();
        let (lex, problems) = Lexicon::load(dir.path());
        assert_eq!(
            lex.terms,
            vec![("宅基地".to_owned(), Some(3000)), ("河口区".to_owned(), Some(1500)), ("欠薪".to_owned(), None)]
        );
        // Place names are segmented whole but are no legal terms.
        assert_eq!(lex.legal, ["宅基地", "欠薪"].map(String::from).into());
        assert_eq!(lex.stopwords.len(), 2);
        assert_eq!(lex.synonyms.get("打官司").map(String::as_str), Some("诉讼"));
        assert_eq!(problems.len(), 2);
        assert_eq!((problems[0].line, problems[1].line), (3, 2));
        assert!(problems[0].file.ends_with("legal_terms.txt"));
    }
}
