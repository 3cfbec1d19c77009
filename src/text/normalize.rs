//! Normalisation of what residents type, before segmentation: full-width to half-width,
//! lower case, common traditional characters to simplified, punctuation and emoji to spaces,
//! runs of one repeated character shortened.

use std::collections::HashMap;
use std::sync::OnceLock;

/// Common traditional characters seen in residents' questions and their simplified forms.
const TRADITIONAL: &str = "離离婚婚師师請请問问們们會会資资錢钱麼么說说這这個个為为辦办證证務务
    勞劳動动費费權权產产繼继車车禍祸賠赔償偿調调處处幫帮將将還还沒没對对給给從从開开時时間间
    關关題题讓让經经濟济難难無无與与愛爱養养撫抚護护樣样過过後后裡里嗎吗麽么麼么該该應应當当
    實实體体戶户兒儿孫孙學学醫医發发報报網网訴讼議议權权書书簽签約约據据條条規规擁拥領领
    區区鎮镇鄉乡縣县慶庆電电話话號号碼码買买賣卖貸贷債债欠欠罰罚險险傷伤殘残廠厂闆板薪薪
    糾纠紛纷訟讼狀状審审判判決决執执聽听記记錄录辯辩護护贍赡遺遗囑嘱證证
    誰谁補补認认職职詐诈帶带業业顧顾農农鄰邻們们對对麼么這这說说話话錢钱還还給给沒没讓让過过時时間间後后來来個个們们樣样點点機机關关係系問问題题數数學学習习見见覺觉聽听買买賣卖貨货銀银貸贷險险權权戶户屬属務务續续費费員员師师廳厅縣县區区鄉乡鎮镇產产傷伤醫医療疗藥药歲岁親亲戚戚婦妇孫孙園园場场車车輛辆駕驾駛驶撞撞賠赔償偿調调解解協协議议證证據据書书籤签紀纪錄录離离婚婚娶娶嫁嫁養养贍赡護护遺遗囑嘱繼继承承財财產产房房屋屋土土地地徵征拆拆遷迁補补貼贴勞劳動动資资欠欠薪薪辭辞退退開开除除違违約约訴讼訟讼狀状審审執执罰罚罪罪犯犯案案辯辩律律援援助助諮咨詢询熱热線线網网頁页辦办處处應应該该嗎吗呢呢怎怎麼么啥啥誤误騙骗詐诈歸归還还債债務务條条據据擔担保保證证";

fn simplified(c: char) -> char {
    static TABLE: OnceLock<HashMap<char, char>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let chars: Vec<char> = TRADITIONAL.chars().filter(|c| !c.is_whitespace()).collect();
        chars.chunks_exact(2).map(|pair| (pair[0], pair[1])).collect()
    });
    table.get(&c).copied().unwrap_or(c)
}

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
    for c in input.chars() {
        let c = simplified(half_width(c)).to_ascii_lowercase();
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
    }

    #[test]
    fn repeated_characters() {
        assert_eq!(normalize("啊啊啊啊啊救命"), "啊救命");
        assert_eq!(normalize("谢谢"), "谢谢");
        assert_eq!(normalize("欠了1000元"), "欠了1000元");
    }
}
