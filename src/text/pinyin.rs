//! Pinyin keys for the two ways sound replaces characters: residents who type pinyin without
//! tones ("gongsi bu fa gongzi"), and voice input that picks a homophone ("法律援组", "公正").
//! Keys are toneless and "fuzzy" as many northern speakers are: zh/z, ch/c, sh/s, ang/an,
//! eng/en, ing/in are not told apart.

use pinyin::ToPinyin;

/// The fuzzy key of a string of Chinese characters; None when a character has no pinyin.
pub fn han_key(term: &str) -> Option<String> {
    let mut plain = String::new();
    for p in term.to_pinyin() {
        plain.push_str(p?.plain());
    }
    (!plain.is_empty()).then(|| fuzz(&plain))
}

/// The fuzzy key of typed pinyin (letters only; spaces between syllables are dropped).
pub fn typed_key(pinyin: &str) -> String {
    let letters: String = pinyin.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    fuzz(&letters.to_ascii_lowercase().replace(['v', 'ü'], "u"))
}

fn fuzz(plain: &str) -> String {
    plain
        .replace('ü', "u")
        .replace("zh", "z")
        .replace("ch", "c")
        .replace("sh", "s")
        .replace("ang", "an")
        .replace("eng", "en")
        .replace("ing", "in")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_and_characters_meet() {
        assert_eq!(han_key("工资"), Some(typed_key("gongzi")));
        assert_eq!(han_key("法律援助"), Some(typed_key("falv yuanzhu")));
        assert_eq!(han_key("法律援助"), Some(typed_key("FALU YUANZU")));
        assert_eq!(han_key("公证"), han_key("公正"));
        assert_eq!(han_key("援助"), han_key("援组"));
        assert_ne!(han_key("离婚"), han_key("结婚"));
        assert_eq!(han_key("abc"), None);
    }
}
