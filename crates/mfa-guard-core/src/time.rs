//! The clock the engine reads, and the NumericDate of JWT claims (RFC 7519 §2).

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// Where the engine reads the current time.
///
/// Every time-dependent rule (`exp`, `nbf`, `auth_time` freshness, scheduled
/// enforcement) reads this clock, so tests and tools can pin it.
pub trait Clock: Send + Sync + fmt::Debug + 'static {
    /// Seconds since the Unix epoch, now.
    fn now_unix(&self) -> i64;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_unix(&self) -> i64 {
        match SystemTime::now().duration_since(UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            // A clock set before 1970 is broken; treating it as the epoch makes every
            // token look like it is from the future, which fails closed.
            Err(_) => 0,
        }
    }
}

/// A clock that only moves when told to; cheap to clone, clones share the time.
///
/// Meant for tests and for tools that evaluate a token "as of" a given instant.
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<AtomicI64>);

impl ManualClock {
    /// A clock standing at `unix_seconds`.
    pub fn new(unix_seconds: i64) -> Self {
        Self(Arc::new(AtomicI64::new(unix_seconds)))
    }

    /// Sets the time.
    pub fn set(&self, unix_seconds: i64) {
        self.0.store(unix_seconds, Ordering::SeqCst);
    }

    /// Moves the time forward (or back, with a negative value).
    pub fn advance(&self, seconds: i64) {
        self.0.fetch_add(seconds, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_unix(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A JWT NumericDate: whole seconds since the Unix epoch.
///
/// Tokens in the wild carry integers and, from some issuers, floats; both are read
/// (a float is rounded down). Values past the year 9999 or before year 1 are refused
/// as out of range, so arithmetic with leeway can never overflow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NumericDate(i64);

impl NumericDate {
    /// 9999-12-31T23:59:59Z.
    pub const MAX: i64 = 253_402_300_799;
    /// 0001-01-01T00:00:00Z.
    pub const MIN: i64 = -62_135_596_800;

    /// A date from whole seconds since the epoch, if in range.
    pub(crate) fn from_unix(seconds: i64) -> Option<Self> {
        (Self::MIN..=Self::MAX).contains(&seconds).then_some(Self(seconds))
    }

    /// Reads a JSON number as a NumericDate (integer or float).
    pub(crate) fn from_json_f64(value: f64) -> Option<Self> {
        if !value.is_finite() {
            return None;
        }
        let floored = value.floor();
        if floored < Self::MIN as f64 || floored > Self::MAX as f64 {
            return None;
        }
        // In range by the check above, so the cast is exact.
        Some(Self(floored as i64))
    }

    /// Whole seconds since the Unix epoch.
    pub fn unix(self) -> i64 {
        self.0
    }
}

impl fmt::Display for NumericDate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl serde::Serialize for NumericDate {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_i64(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float_numeric_dates_round_down() {
        assert_eq!(NumericDate::from_json_f64(1_549_092_452.9), NumericDate::from_unix(1_549_092_452));
    }

    #[test]
    fn numeric_dates_beyond_year_9999_are_out_of_range() {
        assert_eq!(NumericDate::from_json_f64(1e30), None);
        assert_eq!(NumericDate::from_unix(NumericDate::MAX + 1), None);
        assert_eq!(NumericDate::from_json_f64(f64::NAN), None);
    }

    #[test]
    fn manual_clock_clones_share_their_time() {
        let clock = ManualClock::new(100);
        let other = clock.clone();
        clock.advance(5);
        assert_eq!(other.now_unix(), 105);
    }
}

/// Parses an RFC 3339 timestamp (`2027-03-01T00:00:00Z`, `2027-03-01T09:00:00+09:00`,
/// fractions allowed and dropped) into seconds since the epoch.
pub(crate) fn parse_rfc3339(text: &str) -> Result<i64, InvalidTimestamp> {
    time::OffsetDateTime::parse(text.trim(), &time::format_description::well_known::Rfc3339)
        .map(|t| t.unix_timestamp())
        .map_err(|_| InvalidTimestamp(text.to_owned()))
}

/// A timestamp that is not RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not an RFC 3339 timestamp like 2027-03-01T00:00:00Z")]
pub(crate) struct InvalidTimestamp(String);

/// Parses a duration in words (`"90s"`, `"5m"`, `"1h 30m"`, `"2d"`: humantime's units)
/// or as bare seconds (`"60"`).
pub fn parse_duration(text: &str) -> Result<std::time::Duration, InvalidDuration> {
    let text = text.trim();
    if let Ok(secs) = text.parse::<u64>() {
        return Ok(std::time::Duration::from_secs(secs));
    }
    humantime::parse_duration(text)
        .map_err(|e| InvalidDuration { text: text.to_owned(), reason: e.to_string() })
}

/// A duration that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a duration like \"90s\", \"5m\" or \"1h 30m\" ({reason})")]
pub struct InvalidDuration {
    text: String,
    reason: String,
}

#[cfg(test)]
mod rfc3339_tests {
    use super::parse_rfc3339;

    #[test]
    fn rfc3339_timestamps_parse_to_unix_seconds() {
        assert_eq!(parse_rfc3339("1970-01-01T00:00:00Z"), Ok(0));
        assert_eq!(parse_rfc3339("2027-03-01T00:00:00Z"), Ok(1_803_859_200));
        assert_eq!(parse_rfc3339("2027-03-01T09:00:00+09:00"), Ok(1_803_859_200));
        assert_eq!(parse_rfc3339("2024-02-29T12:30:15.123Z"), Ok(1_709_209_815));
    }

    #[test]
    fn malformed_timestamps_are_refused() {
        for bad in
            ["2027-03-01", "2027-02-30T00:00:00Z", "2027-03-01T25:00:00Z", "2027-03-01T00:00:00", "soon"]
        {
            assert!(parse_rfc3339(bad).is_err(), "{bad}");
        }
    }
}
