//! MFA adoption per client application: of the requests that a rule required MFA
//! for, how many met the requirement and how many missed it, per application and per
//! mode — the numbers Partner Center publishes per application
//! (`applicationmfaadoptionstatus`: compliant and total requests) to decide when to
//! enforce.
//!
//! What is counted is the compliance signal's own notion (the `compliance_header`):
//! `satisfied` is *met*, `missing` is *missed*. A request on a rule that does not
//! require MFA (`not-required`) or from an app-only caller (`not-applicable`, no
//! user to ask) is not counted at all: it can neither adopt MFA nor fail to, and
//! counting it as missed would make an application that calls only public routes
//! look like a laggard. Only verified callers are counted (an invalid token names
//! no application anyone vouches for).
//!
//! The application is the token's `appid` (v1), else `azp` (v2). Labels are
//! bounded: the first `limit` applications seen get a label of their own and keep
//! it; every later one is counted under `other`. Browser sessions are counted
//! under `browser`, bearer tokens that name no application under `unknown`.
//!
//! Why first come rather than a moving top N: a label is a Prometheus series, and
//! a counter must only ever grow. A top N re-ranked by volume would move an
//! application between its own series and `other`, so one of them would have to
//! shrink (or a series would be left frozen, and the bound lost). With labels that
//! never move, every count is exact and the JSON report equals the scrape. The
//! cost is that `limit` must be above the number of applications a service
//! really has (`other` growing says it is not); the report lists the named
//! applications by volume, busiest first.
//!
//! The hot path never looks an application up: each verified token is resolved
//! to its application's tally once, when it is verified, and the verified-token
//! cache keeps that tally with the token's other facts; a request adds one to a
//! relaxed atomic. The map of named applications is locked only when a token is
//! verified (and its signature checked, which costs far more).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

use serde::Serialize;

use crate::metrics::ADOPTION;
use crate::policy::Compliance;

/// How many applications get a label of their own by default.
pub(crate) const DEFAULT_ADOPTION_APPS: usize = 100;

/// The label of applications beyond the limit.
pub(crate) const OTHER: &str = "other";
/// The label of browser sessions (an ID token names no client application of the
/// caller's).
pub(crate) const BROWSER: &str = "browser";
/// The label of bearer tokens with neither `appid` nor `azp`.
pub(crate) const UNKNOWN: &str = "unknown";

/// The longest application id given a label of its own (Entra's are 36-character
/// GUIDs; `azp` of other issuers may be a URL).
const MAX_APP_ID: usize = 128;

/// The counts of one application.
pub(crate) struct AppTally {
    label: Arc<str>,
    /// Indexed by [`AppTally::slot`]: enforce met, enforce missed, report-only met,
    /// report-only missed.
    counts: [AtomicU64; 4],
    /// The same counts through the `metrics` facade, registered on first use (as
    /// the decision counters are).
    exported: [OnceLock<metrics::Counter>; 4],
}

impl AppTally {
    fn new(label: impl Into<Arc<str>>) -> Arc<Self> {
        Arc::new(Self { label: label.into(), counts: Default::default(), exported: Default::default() })
    }

    fn slot(report_only: bool, met: bool) -> usize {
        usize::from(report_only) * 2 + usize::from(!met)
    }

    /// Counts one request whose rule required MFA; other requests are not counted.
    pub(crate) fn count(&self, compliance: Compliance, report_only: bool) {
        let met = match compliance {
            Compliance::Met => true,
            Compliance::Missed => false,
            Compliance::NotRequired | Compliance::NotApplicable => return,
        };
        let slot = Self::slot(report_only, met);
        if let (Some(count), Some(exported)) = (self.counts.get(slot), self.exported.get(slot)) {
            count.fetch_add(1, Ordering::Relaxed);
            exported
                .get_or_init(|| {
                    let mode = if report_only { "report-only" } else { "enforce" };
                    let mfa = if met { "met" } else { "missed" };
                    metrics::counter!(ADOPTION, "app" => Arc::clone(&self.label), "mode" => mode, "mfa" => mfa)
                })
                .increment(1);
        }
    }

    fn report(&self) -> AppAdoption {
        let n = |slot: usize| self.counts.get(slot).map_or(0, |c| c.load(Ordering::Relaxed));
        AppAdoption {
            app: self.label.to_string(),
            enforce: MfaCounts { met: n(Self::slot(false, true)), missed: n(Self::slot(false, false)) },
            report_only: MfaCounts { met: n(Self::slot(true, true)), missed: n(Self::slot(true, false)) },
        }
    }
}

/// The adoption counts of a guard: a bounded set of application tallies.
pub(crate) struct Adoption {
    limit: usize,
    /// Only locked when a token is verified, never per request.
    named: Mutex<HashMap<Box<str>, Arc<AppTally>>>,
    other: Arc<AppTally>,
    unknown: Arc<AppTally>,
    browser: Arc<AppTally>,
}

impl Adoption {
    /// Counts that name at most `limit` applications.
    pub(crate) fn new(limit: usize) -> Self {
        Self {
            limit,
            named: Mutex::new(HashMap::new()),
            other: AppTally::new(OTHER),
            unknown: AppTally::new(UNKNOWN),
            browser: AppTally::new(BROWSER),
        }
    }

    /// The tally of the application `client_id` (`appid`, else `azp`), given a
    /// label of its own while fewer than `limit` have one. An id that could be
    /// mistaken for a fixed label, or that is not a short run of visible ASCII,
    /// is counted under `other`.
    pub(crate) fn tally(&self, client_id: Option<&str>) -> Arc<AppTally> {
        let Some(id) = client_id else { return Arc::clone(&self.unknown) };
        let usable = (1..=MAX_APP_ID).contains(&id.len())
            && id.bytes().all(|b| b.is_ascii_graphic())
            && ![OTHER, BROWSER, UNKNOWN].contains(&id);
        if !usable {
            return Arc::clone(&self.other);
        }
        // A panic elsewhere while holding the lock leaves the map whole (an insert
        // either happened or did not), so a poisoned lock is used as is.
        let mut named = self.named.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(tally) = named.get(id) {
            return Arc::clone(tally);
        }
        if named.len() >= self.limit {
            return Arc::clone(&self.other);
        }
        let tally = AppTally::new(id);
        named.insert(id.into(), Arc::clone(&tally));
        tally
    }

    /// The tally of browser sessions.
    pub(crate) fn browser(&self) -> &AppTally {
        &self.browser
    }

    /// The counts now: the named applications by volume (busiest first, then by
    /// id), then `browser`, `unknown` and `other`, each listed even when zero.
    pub(crate) fn report(&self) -> AdoptionReport {
        let mut applications: Vec<AppAdoption> = {
            let named = self.named.lock().unwrap_or_else(PoisonError::into_inner);
            named.values().map(|t| t.report()).collect()
        };
        applications.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.app.cmp(&b.app)));
        applications.extend([self.browser.report(), self.unknown.report(), self.other.report()]);
        AdoptionReport { limit: self.limit, applications }
    }
}

/// MFA adoption per client application, as [`Guard::adoption`](crate::Guard::adoption)
/// reports it (and `/mfa-adoption` serves it as JSON).
///
/// ```json
/// {"limit":100,"applications":[
///   {"app":"00001111-aaaa-2222-bbbb-3333cccc4444",
///    "enforce":{"met":120,"missed":3},"report-only":{"met":40,"missed":9}},
///   {"app":"browser","enforce":{"met":0,"missed":0},"report-only":{"met":0,"missed":0}},
///   {"app":"unknown","enforce":{"met":0,"missed":0},"report-only":{"met":0,"missed":0}},
///   {"app":"other","enforce":{"met":0,"missed":0},"report-only":{"met":0,"missed":0}}]}
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AdoptionReport {
    /// How many applications may have a label of their own
    /// ([`GuardBuilder::adoption_apps`](crate::GuardBuilder::adoption_apps)).
    pub limit: usize,
    /// The named applications, busiest first, then `browser`, `unknown` and
    /// `other`.
    pub applications: Vec<AppAdoption>,
}

impl AdoptionReport {
    /// The counts of the application labelled `app`, if it is listed.
    pub fn app(&self, app: &str) -> Option<&AppAdoption> {
        self.applications.iter().find(|a| a.app == app)
    }
}

/// The counts of one application (or of one fixed label).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct AppAdoption {
    /// The application id (`appid`, else `azp`), or `browser`, `unknown`, `other`.
    pub app: String,
    /// On enforced rules.
    pub enforce: MfaCounts,
    /// On report-only rules (and rules before their `enforce_from` date).
    #[serde(rename = "report-only")]
    pub report_only: MfaCounts,
}

impl AppAdoption {
    /// Requests counted in both modes.
    pub fn total(&self) -> u64 {
        self.enforce.total().saturating_add(self.report_only.total())
    }
}

/// Requests whose rule required MFA: how many met the requirement (Partner
/// Center's compliant requests) and how many missed it; their sum is its total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct MfaCounts {
    /// The token showed the level the rule asks, recently enough.
    pub met: u64,
    /// It did not (refused when enforced, let through when report-only).
    pub missed: u64,
}

impl MfaCounts {
    /// `met + missed`.
    pub fn total(&self) -> u64 {
        self.met.saturating_add(self.missed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(report: &AdoptionReport, app: &str) -> [u64; 4] {
        let a = report.app(app).unwrap_or_else(|| panic!("{app} is not listed"));
        [a.enforce.met, a.enforce.missed, a.report_only.met, a.report_only.missed]
    }

    #[test]
    fn the_first_limit_applications_are_named_and_every_later_one_is_other() {
        let adoption = Adoption::new(3);
        // Five applications; each calls as many times as its number, met and
        // missed in both modes.
        for i in 1..=5u64 {
            let tally = adoption.tally(Some(&format!("app-{i}")));
            for _ in 0..i {
                tally.count(Compliance::Met, false);
                tally.count(Compliance::Missed, false);
                tally.count(Compliance::Met, true);
            }
            tally.count(Compliance::Missed, true);
        }
        let report = adoption.report();
        assert_eq!(report.limit, 3);
        let labels: Vec<&str> = report.applications.iter().map(|a| a.app.as_str()).collect();
        assert_eq!(labels, ["app-3", "app-2", "app-1", BROWSER, UNKNOWN, OTHER]);
        assert_eq!(counts(&report, "app-1"), [1, 1, 1, 1]);
        assert_eq!(counts(&report, "app-2"), [2, 2, 2, 1]);
        assert_eq!(counts(&report, "app-3"), [3, 3, 3, 1]);
        // app-4 and app-5 together.
        assert_eq!(counts(&report, OTHER), [9, 9, 9, 2]);
        assert_eq!(counts(&report, BROWSER), [0; 4]);
    }

    #[test]
    fn a_named_application_keeps_its_label_once_the_table_is_full() {
        let adoption = Adoption::new(1);
        let first = adoption.tally(Some("app-a"));
        assert_eq!(&*adoption.tally(Some("app-b")).label, OTHER);
        assert!(Arc::ptr_eq(&first, &adoption.tally(Some("app-a"))), "the same tally, not a new one");
    }

    #[test]
    fn requests_that_mfa_was_not_asked_of_are_not_counted() {
        let adoption = Adoption::new(10);
        let tally = adoption.tally(Some("app-a"));
        tally.count(Compliance::NotRequired, false);
        tally.count(Compliance::NotApplicable, true);
        assert_eq!(counts(&adoption.report(), "app-a"), [0; 4]);
    }

    #[test]
    fn ids_that_cannot_be_a_label_of_their_own_are_other_and_no_id_is_unknown() {
        let adoption = Adoption::new(10);
        for id in ["", "other", "browser", "unknown", "has space", "ünïcode", &"a".repeat(129)] {
            assert_eq!(&*adoption.tally(Some(id)).label, OTHER, "{id:?}");
        }
        assert_eq!(&*adoption.tally(None).label, UNKNOWN);
        assert_eq!(&*adoption.tally(Some(&"a".repeat(128))).label, &*"a".repeat(128));
    }

    #[test]
    fn a_limit_of_zero_counts_everything_under_other() {
        let adoption = Adoption::new(0);
        adoption.tally(Some("app-a")).count(Compliance::Met, false);
        let report = adoption.report();
        assert_eq!(report.applications.len(), 3);
        assert_eq!(counts(&report, OTHER), [1, 0, 0, 0]);
    }

    #[test]
    fn counts_from_many_threads_are_exact() {
        let adoption = Arc::new(Adoption::new(2));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let adoption = Arc::clone(&adoption);
                std::thread::spawn(move || {
                    for i in 0..1000 {
                        let tally = adoption.tally(Some(["app-a", "app-b", "app-c"][(t + i) % 3]));
                        tally.count(if i % 2 == 0 { Compliance::Met } else { Compliance::Missed }, false);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let report = adoption.report();
        let total: u64 = report.applications.iter().map(AppAdoption::total).sum();
        assert_eq!(total, 4000);
        let named = report.applications.iter().filter(|a| a.app.starts_with("app-")).count();
        assert_eq!(named, 2, "{report:?}");
    }

    #[test]
    fn the_report_serialises_with_the_modes_as_metrics_name_them() {
        let adoption = Adoption::new(1);
        adoption.tally(Some("app-a")).count(Compliance::Missed, true);
        let json = serde_json::to_value(adoption.report()).unwrap();
        assert_eq!(json["limit"], 1);
        assert_eq!(
            json["applications"][0],
            serde_json::json!({"app":"app-a","enforce":{"met":0,"missed":0},"report-only":{"met":0,"missed":1}})
        );
    }
}
