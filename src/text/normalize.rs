//! Normalisation of what residents type, before segmentation: full-width to half-width,
//! lower case, common traditional characters to simplified, punctuation and emoji to spaces,
//! runs of one repeated character shortened.

fn half_width(c: char) -> char {
    match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        _ => c,
    }
}

/// Chinese characters, ASCII letters and digits are kept; everything else becomes a space.
fn is_word_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || ('\u{4E00}'..='\u{9FFF}').contains(&c) || ('\u{3400}'..='\u{4DBF}').contains(&c)
}

pub fn normalize(input: &str) -> String {
    let mut spaced = String::with_capacity(input.len());
    // fast2s carries the full traditional → simplified table (OpenCC's, via simplet2s).
    for c in fast2s::convert(input).chars() {
        let c = half_width(c).to_ascii_lowercase();
        if is_word_char(c) {
            spaced.push(c);
        } else if !spaced.is_empty() && !spaced.ends_with(' ') {
            spaced.push(' ');
        }
    }
    collapse_long_runs(spaced.trim_end())
}

/// "啊啊啊啊" → "啊", while "谢谢" and "1000" stay as they are.
fn collapse_long_runs(s: &str) -> String {
    let chars: Vec<char> = s.chars().collect();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        let mut j = i;
        while j < chars.len() && chars[j] == c {
            j += 1;
        }
        let len = j - i;
        let keep = if len >= 3 && !c.is_ascii_digit() { 1 } else { len };
        out.extend(std::iter::repeat_n(c, keep));
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::normalize;

    #[test]
    fn full_width_case_and_punctuation() {
        assert_eq!(normalize("ＡＢＣ１２３，你好！"), "abc123 你好");
        assert_eq!(normalize("  公司不发工资？？？怎么办😭😭 "), "公司不发工资 怎么办");
    }

    #[test]
    fn traditional_to_simplified() {
        assert_eq!(normalize("離婚怎麼辦"), "离婚怎么办");
        assert_eq!(normalize("請問勞動仲裁"), "请问劳动仲裁");
        assert_eq!(normalize("土地流轉要簽合同嗎"), "土地流转要签合同吗");
        // Simplified text is left alone.
        assert_eq!(normalize("干了三个月 后来发工资"), "干了三个月 后来发工资");
    }

    #[test]
    fn repeated_characters() {
        assert_eq!(normalize("啊啊啊啊啊救命"), "啊救命");
        assert_eq!(normalize("谢谢"), "谢谢");
        assert_eq!(normalize("欠了1000元"), "欠了1000元");
    }
}
