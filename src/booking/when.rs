//! Understanding when a resident wants to come: 今天, 明天, 后天, 下周一, 周三上午,
//! 星期五下午, 11月30日, 30号, 12.1 — relative to today.

use chrono::{Datelike, Duration, NaiveDate, NaiveTime};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HalfDay {
    Morning,
    Afternoon,
}

impl HalfDay {
    pub fn contains(self, t: NaiveTime) -> bool {
        let noon = NaiveTime::from_hms_opt(12, 0, 0).expect("valid");
        match self {
            HalfDay::Morning => t < noon,
            HalfDay::Afternoon => t >= noon,
        }
    }
}

/// A day and/or a half-day the resident named.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct When {
    pub date: Option<NaiveDate>,
    pub half: Option<HalfDay>,
}

const WEEKDAYS: [(char, u32); 8] =
    [('一', 1), ('二', 2), ('三', 3), ('四', 4), ('五', 5), ('六', 6), ('日', 7), ('天', 7)];

fn digits(s: &str) -> Option<(u32, usize)> {
    let n: String = s.chars().take_while(|c| c.is_ascii_digit()).collect();
    n.parse().ok().map(|v| (v, n.len()))
}

/// Parses the resident's words; None when they name no day or half-day.
pub fn parse(text: &str, today: NaiveDate) -> Option<When> {
    let t: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let mut when = When::default();
    if t.contains("上午") || t.contains("早上") || t.contains("早晨") {
        when.half = Some(HalfDay::Morning);
    } else if t.contains("下午") || t.contains("晌午后") {
        when.half = Some(HalfDay::Afternoon);
    }
    let relative = [("大后天", 3), ("后天", 2), ("明天", 1), ("明儿", 1), ("今天", 0), ("今儿", 0)];
    if let Some((_, days)) = relative.iter().find(|(w, _)| t.contains(w)) {
        when.date = Some(today + Duration::days(*days));
    } else if let Some(i) = t.find("周").or_else(|| t.find("星期")).or_else(|| t.find("礼拜")) {
        let prefix_len = if t[i..].starts_with("周") { "周".len() } else { "星期".len() };
        let day =
            t[i + prefix_len..].chars().next().and_then(|c| WEEKDAYS.iter().find(|(w, _)| *w == c)).map(|(_, d)| *d);
        if let Some(day) = day {
            let next_week = t[..i].ends_with('下');
            let current = today.weekday().number_from_monday();
            let mut ahead = (day as i64 - current as i64).rem_euclid(7);
            if next_week {
                // 下周X: the X of next week (Monday-based weeks).
                ahead = 7 - current as i64 + day as i64;
            } else if ahead == 0 {
                ahead = 7;
            }
            when.date = Some(today + Duration::days(ahead));
        }
    } else if let Some(m) = t.find('月') {
        // 11月30日 / 11月30号
        let month = t[..m]
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_digit())
            .collect::<String>()
            .chars()
            .rev()
            .collect::<String>();
        let (day, _) = digits(&t[m + '月'.len_utf8()..])?;
        when.date = date_from(today, month.parse().ok()?, day);
    } else if let Some((a, len)) = digits(&t) {
        let rest = &t[len..];
        if let Some(after_dot) = rest.strip_prefix('.').or_else(|| rest.strip_prefix('/')) {
            let (day, _) = digits(after_dot)?;
            when.date = date_from(today, a, day);
        } else if rest.starts_with('号') || rest.starts_with('日') {
            // 30号: this month's, or next month's if it has passed.
            let this = NaiveDate::from_ymd_opt(today.year(), today.month(), a);
            when.date = match this {
                Some(d) if d >= today => Some(d),
                _ => {
                    let next = today + Duration::days(32 - today.day() as i64);
                    NaiveDate::from_ymd_opt(next.year(), next.month(), a)
                }
            };
        }
    }
    (when.date.is_some() || when.half.is_some()).then_some(when)
}

/// This year's month/day, or next year's if it has passed.
fn date_from(today: NaiveDate, month: u32, day: u32) -> Option<NaiveDate> {
    let this = NaiveDate::from_ymd_opt(today.year(), month, day)?;
    if this >= today { Some(this) } else { NaiveDate::from_ymd_opt(today.year() + 1, month, day) }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn relative_days_and_weekdays() {
        let fri = d("2026-11-27"); // a Friday
        assert_eq!(parse("明天", fri).unwrap().date, Some(d("2026-11-28")));
        assert_eq!(parse("后天上午", fri).unwrap(), When { date: Some(d("2026-11-29")), half: Some(HalfDay::Morning) });
        assert_eq!(parse("下周一", fri).unwrap().date, Some(d("2026-11-30")));
        assert_eq!(parse("周三上午", fri).unwrap().date, Some(d("2026-12-02")));
        assert_eq!(
            parse("星期五下午", fri).unwrap(),
            When { date: Some(d("2026-12-04")), half: Some(HalfDay::Afternoon) }
        );
        assert_eq!(parse("下周五", fri).unwrap().date, Some(d("2026-12-04")));
        assert_eq!(parse("周二", d("2026-11-30")).unwrap().date, Some(d("2026-12-01")));
    }

    #[test]
    fn calendar_dates() {
        let today = d("2026-11-27");
        assert_eq!(parse("11月30日", today).unwrap().date, Some(d("2026-11-30")));
        assert_eq!(parse("12月1号上午", today).unwrap().date, Some(d("2026-12-01")));
        assert_eq!(parse("1月5日", today).unwrap().date, Some(d("2027-01-05")), "next year once passed");
        assert_eq!(parse("30号", today).unwrap().date, Some(d("2026-11-30")));
        assert_eq!(parse("3号", today).unwrap().date, Some(d("2026-12-03")), "next month once passed");
        assert_eq!(parse("12.2", today).unwrap().date, Some(d("2026-12-02")));
        assert_eq!(parse("下午", today).unwrap(), When { date: None, half: Some(HalfDay::Afternoon) });
        assert_eq!(parse("我叫张三", today), None);
        assert_eq!(parse("2月30日", today), None);
    }
}
