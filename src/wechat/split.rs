//! Splitting long text into WeChat-sized messages at paragraph or sentence boundaries.

/// WeChat's limit for one text message is 2048 bytes; leave room for a "(1/2)" marker.
pub const MAX_TEXT_BYTES: usize = 2000;

/// Splits `text` into parts of at most `max_bytes`, preferring paragraph breaks, then sentence
/// ends, then any character boundary. A text that fits is returned whole.
pub fn split_text(text: &str, max_bytes: usize) -> Vec<String> {
    let mut parts = Vec::new();
    let mut rest = text.trim();
    while rest.len() > max_bytes {
        let window = floor_char_boundary(rest, max_bytes);
        let head = &rest[..window];
        let cut = head
            .rfind("\n\n")
            .map(|i| i + 2)
            .filter(|&i| i > window / 3)
            .or_else(|| last_sentence_end(head).filter(|&i| i > window / 3))
            .unwrap_or(window);
        parts.push(rest[..cut].trim_end().to_owned());
        rest = rest[cut..].trim_start();
    }
    if !rest.is_empty() {
        parts.push(rest.to_owned());
    }
    parts
}

fn last_sentence_end(s: &str) -> Option<usize> {
    s.char_indices()
        .rev()
        .find(|(_, c)| matches!(c, '。' | '！' | '？' | '；' | '\n' | '!' | '?' | ';'))
        .map(|(i, c)| i + c.len_utf8())
}

fn floor_char_boundary(s: &str, mut i: usize) -> usize {
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_whole() {
        assert_eq!(split_text("你好。", 2000), vec!["你好。"]);
        assert!(split_text("  ", 2000).is_empty());
    }

    #[test]
    fn splits_at_paragraphs_then_sentences_within_the_limit() {
        let para = "第一句话说明情况。第二句话给出办法！".repeat(20);
        let text = format!("{para}\n\n{para}\n\n{para}");
        let parts = split_text(&text, 1000);
        assert!(parts.len() >= 3, "{}", parts.len());
        assert!(parts.iter().all(|p| p.len() <= 1000));
        assert!(parts.iter().all(|p| p.ends_with('。') || p.ends_with('！')), "{parts:?}");
        assert_eq!(parts.concat().replace('\n', ""), text.replace('\n', ""), "nothing lost");
    }

    #[test]
    fn text_without_any_boundary_is_cut_on_characters() {
        let text = "长".repeat(1000);
        let parts = split_text(&text, 301);
        assert!(parts.iter().all(|p| p.len() <= 301 && !p.is_empty()));
        assert_eq!(parts.concat(), text);
    }
}
