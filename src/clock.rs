//! Time as the district lives it: China Standard Time (UTC+8, no daylight saving).

use chrono::{DateTime, NaiveDateTime};

const CST_OFFSET_SECS: i64 = 8 * 3600;

/// The local date and time of a Unix timestamp.
pub fn local(unix_secs: i64) -> NaiveDateTime {
    DateTime::from_timestamp(unix_secs + CST_OFFSET_SECS, 0).unwrap_or_default().naive_utc()
}

/// The Unix timestamp of a local date and time.
pub fn unix(local: NaiveDateTime) -> i64 {
    local.and_utc().timestamp() - CST_OFFSET_SECS
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_standard_time() {
        // 2026-11-27 00:00 UTC is 08:00 in Dongying.
        let t = local(1_795_737_600);
        assert_eq!(t.to_string(), "2026-11-27 08:00:00");
        assert_eq!(unix(t), 1_795_737_600);
    }
}
