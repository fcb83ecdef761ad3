//! What the engine reports through the [`metrics`] facade (the exporter is the
//! application's choice; with none installed these cost a relaxed atomic load).
//!
//! | name | kind | labels |
//! |---|---|---|
//! | `mfa_guard_decisions_total` | counter | `rule` (configured name or pattern), `code` (`admitted`, `anonymous` or a rejection code), `mode` (`enforce`, `report-only`) |
//! | `mfa_guard_mfa_adoption_total` | counter | `app` (the client application's id, `browser`, `unknown` or `other`; at most [`GuardBuilder::adoption_apps`](crate::GuardBuilder::adoption_apps) ids), `mode`, `mfa` (`met`, `missed`) |
//! | `mfa_guard_check_duration_seconds` | histogram | none |
//! | `mfa_guard_key_fetches_total` | counter | none |
//! | `mfa_guard_key_fetch_failures_total` | counter | none |
//! | `mfa_guard_revocations_held` | gauge | none (with a Redis session store, every second) |
//! | `mfa_guard_revocations_pending` | gauge | none (revocations waiting for the store to come back) |
//! | `mfa_guard_session_store_outages_total` | counter | none |
//!
//! No label holds a path, user id, token or tenant id: `rule` is the configured
//! name, else the configured pattern. In report-only mode a request let through is
//! counted under the code it would have been refused with.
//!
//! `mfa_guard_mfa_adoption_total` counts, per client application, the requests of
//! verified users on rules that require MFA: whether the token met the rule's
//! requirement (level and freshness) or missed it, the compliance header's
//! `satisfied` and `missing`. Its `app` label is bounded: the first applications
//! seen keep a label of their own, every later one is `other`
//! ([`Guard::adoption`](crate::Guard::adoption) says why, and reports the same counts).

use std::sync::{Arc, OnceLock};

use metrics::{Counter, Histogram};

use crate::rejection::RejectionCode;

/// Decisions counter.
pub const DECISIONS: &str = "mfa_guard_decisions_total";
/// MFA requirement met or missed, per client application.
pub const ADOPTION: &str = "mfa_guard_mfa_adoption_total";
/// Check latency histogram, seconds.
pub const CHECK_DURATION: &str = "mfa_guard_check_duration_seconds";
/// Key-source fetch attempts.
pub const KEY_FETCHES: &str = "mfa_guard_key_fetches_total";
/// Key-source fetch failures.
pub const KEY_FETCH_FAILURES: &str = "mfa_guard_key_fetch_failures_total";

/// Revocations in this process's view of the session store.
pub const REVOCATIONS_HELD: &str = "mfa_guard_revocations_held";
/// Revocations made while the session store was out of reach, not yet written.
pub const REVOCATIONS_PENDING: &str = "mfa_guard_revocations_pending";
/// Times the session store went out of reach.
pub const SESSION_STORE_OUTAGES: &str = "mfa_guard_session_store_outages_total";

/// What a check concluded, as counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Outcome {
    Admitted,
    Anonymous,
    Refused(RejectionCode),
}

impl Outcome {
    fn label(self) -> &'static str {
        match self {
            Outcome::Admitted => "admitted",
            Outcome::Anonymous => "anonymous",
            Outcome::Refused(code) => code.as_str(),
        }
    }

    fn index(self) -> usize {
        match self {
            Outcome::Admitted => 0,
            Outcome::Anonymous => 1,
            Outcome::Refused(code) => 2 + RejectionCode::ALL.iter().position(|c| *c == code).unwrap_or(0),
        }
    }
}

const SLOTS: usize = 2 * (2 + RejectionCode::ALL.len());

/// The decision counters of one rule, registered with the recorder on first use
/// and reused: building a labelled key per request would allocate on every check,
/// recorder or not. (As with any metrics handle, install the recorder before the
/// first request.)
#[derive(Debug, Default)]
pub(crate) struct RuleCounters {
    slots: [OnceLock<Counter>; SLOTS],
}

impl RuleCounters {
    /// Counts one decision; `report_only` says whether the rule was in report-only
    /// mode (the `mode` label).
    pub(crate) fn count(&self, rule: &Arc<str>, outcome: Outcome, report_only: bool) {
        let slot = outcome.index() * 2 + usize::from(report_only);
        let mode = if report_only { "report-only" } else { "enforce" };
        if let Some(counter) = self.slots.get(slot) {
            counter
                .get_or_init(|| {
                    metrics::counter!(DECISIONS, "rule" => Arc::clone(rule), "code" => outcome.label(), "mode" => mode)
                })
                .increment(1);
        }
    }
}

/// The check-latency histogram, registered on first use.
#[derive(Debug, Default)]
pub(crate) struct CheckDuration(OnceLock<Histogram>);

impl CheckDuration {
    pub(crate) fn record(&self, started: std::time::Instant) {
        self.0.get_or_init(|| metrics::histogram!(CHECK_DURATION)).record(started.elapsed().as_secs_f64());
    }
}

pub(crate) fn key_fetch(ok: bool) {
    metrics::counter!(KEY_FETCHES).increment(1);
    if !ok {
        metrics::counter!(KEY_FETCH_FAILURES).increment(1);
    }
}

#[cfg(feature = "redis")]
pub(crate) fn session_store(held: usize, pending: usize) {
    // Precision loss past 2^53 entries is of no concern for a gauge.
    #[allow(clippy::cast_precision_loss)]
    {
        metrics::gauge!(REVOCATIONS_HELD).set(held as f64);
        metrics::gauge!(REVOCATIONS_PENDING).set(pending as f64);
    }
}

#[cfg(feature = "redis")]
pub(crate) fn session_store_outage() {
    metrics::counter!(SESSION_STORE_OUTAGES).increment(1);
}
