//! Times for people: UTC dates and "in 59 minutes" / "3 hours ago".

/// `2025-11-26 15:04:05 UTC` for seconds since the Unix epoch.
pub(crate) fn utc(unix: i64) -> String {
    let days = unix.div_euclid(86_400);
    let secs = unix.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Howard Hinnant's `civil_from_days`: the proleptic Gregorian date of a day number.
fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
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
