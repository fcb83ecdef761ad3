//! Times for people: UTC dates and "in 59 minutes" / "3 hours ago".

use time::OffsetDateTime;
use time::format_description::BorrowedFormatItem;
use time::macros::format_description;

/// How [`utc`] writes a time.
const UTC: &[BorrowedFormatItem<'_>] =
    format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");

/// `2025-11-26 15:04:05 UTC` for seconds since the Unix epoch; a time no calendar
/// date holds (beyond the year 9999, as a forged `exp` may be) is said as such.
pub(crate) fn utc(unix: i64) -> String {
    OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(UTC).ok())
        .unwrap_or_else(|| format!("{unix} seconds from 1970, beyond the calendar"))
}

/// A span of seconds in the largest whole unit that fits, e.g. `59 minutes`.
pub(crate) fn span(seconds: i64) -> String {
    let s = seconds.unsigned_abs();
    let (n, unit) = match s {
        0..=119 => (s, "second"),
        120..=7_199 => (s / 60, "minute"),
        7_200..=172_799 => (s / 3600, "hour"),
        _ => (s / 86_400, "day"),
    };
    format!("{n} {unit}{}", if n == 1 { "" } else { "s" })
}

/// `in 59 minutes` or `3 hours ago`, for `at` relative to `now`.
pub(crate) fn relative(at: i64, now: i64) -> String {
    let delta = at.saturating_sub(now);
    if delta.abs() <= 1 {
        return "now".to_owned();
    }
    if delta > 0 { format!("in {}", span(delta)) } else { format!("{} ago", span(delta)) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_gregorian() {
        assert_eq!(utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(utc(951_782_400), "2000-02-29 00:00:00 UTC");
        assert_eq!(utc(1_764_169_445), "2025-11-26 15:04:05 UTC");
        assert_eq!(utc(-1), "1969-12-31 23:59:59 UTC");
        assert_eq!(utc(253_402_300_799), "9999-12-31 23:59:59 UTC");
    }

    #[test]
    fn a_time_beyond_the_calendar_is_said_as_seconds_not_a_wrong_date() {
        assert_eq!(utc(253_402_300_800), "253402300800 seconds from 1970, beyond the calendar");
        assert_eq!(utc(i64::MAX), format!("{} seconds from 1970, beyond the calendar", i64::MAX));
        assert_eq!(utc(i64::MIN), format!("{} seconds from 1970, beyond the calendar", i64::MIN));
    }

    #[test]
    fn spans_use_the_largest_whole_unit() {
        assert_eq!(span(1), "1 second");
        assert_eq!(span(3599), "59 minutes");
        assert_eq!(span(3 * 3600), "3 hours");
        assert_eq!(span(-3 * 86_400), "3 days");
        assert_eq!(relative(100, 40), "in 60 seconds");
        assert_eq!(relative(0, 7200), "2 hours ago");
        assert_eq!(relative(5, 5), "now");
    }
}
