//! What the engine reports through the [`metrics`] facade (the exporter is the
//! application's choice; with none installed these cost a relaxed atomic load).
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `mfa_guard_decisions_total` | counter | `rule` (configured name or pattern), `code` (`admitted`, `anonymous` or a rejection code), `mode` (`enforce`, `report-only`) |
//! | `mfa_guard_check_duration_seconds` | histogram | none |
//! | `mfa_guard_key_fetches_total` | counter | none |
//! | `mfa_guard_key_fetch_failures_total` | counter | none |
//!
//! No label holds a path, user id, token or tenant id: `rule` is the configured
//! name, else the configured pattern. In report-only mode a request let through is
//! counted under the code it would have been refused with.

use std::sync::Arc;

use crate::policy::Mode;

/// Decisions counter.
pub const DECISIONS: &str = "mfa_guard_decisions_total";
/// Check latency histogram, seconds.
pub const CHECK_DURATION: &str = "mfa_guard_check_duration_seconds";
/// Key-source fetch attempts.
pub const KEY_FETCHES: &str = "mfa_guard_key_fetches_total";
/// Key-source fetch failures.
pub const KEY_FETCH_FAILURES: &str = "mfa_guard_key_fetch_failures_total";

pub(crate) fn decision(rule: &Arc<str>, code: &'static str, mode: Mode) {
    metrics::counter!(DECISIONS, "rule" => Arc::clone(rule), "code" => code, "mode" => mode.as_str())
        .increment(1);
}

pub(crate) fn check_duration(started: std::time::Instant) {
    metrics::histogram!(CHECK_DURATION).record(started.elapsed().as_secs_f64());
}

pub(crate) fn key_fetch(ok: bool) {
    metrics::counter!(KEY_FETCHES).increment(1);
    if !ok {
        metrics::counter!(KEY_FETCH_FAILURES).increment(1);
    }
}
