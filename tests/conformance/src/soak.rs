//! The soak (issue 9): both example servers under steady load while their JWKS
//! source rotates keys, fails, hangs and recovers — loopback only, bounded.
//!
//! - [`JwksSource`] is the controllable key source: an axum server on
//!   `127.0.0.1:0` serving one JWKS per example server (`/axum/keys`,
//!   `/actix/keys`, so each server's fetches are told apart), whose published keys
//!   and failure [`Mode`] the schedule flips. It logs every fetch it answers.
//! - The load ([`Sample`]) mixes valid MFA tokens of the current key, tokens
//!   without MFA, invalid ones (garbage, expired, wrong audience), tokens under
//!   random kids, and tokens of the key rotated out last.
//! - [`judge`] decides afterwards, from the fetch log, what each answer had to be:
//!   a key counts as *known* to a server only when a fetch that published it was
//!   answered to that server at least [`MARGIN`] before the request started, and no
//!   fetch without it was answered before the request ended; a key counts as
//!   *retired* when a fetch without it was answered [`MARGIN`] before the request.
//!   Between the two, several answers are correct and any of them is accepted.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use serde_json::{Value, json};

use crate::fixture::ISSUER;
use crate::http1::RawResponse;

/// How long after a fetch was answered its keys are taken as installed (and how
/// long before a request a rotation must have been answered to count).
pub const MARGIN: Duration = Duration::from_secs(1);

/// What the key source does with a fetch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Answers the published keys.
    Serve,
    /// Answers `500`.
    Error,
    /// Waits past the guard's timeout, then answers `503`.
    Hang,
    /// Answers `200` with a body that is not JSON.
    Garbage,
}

/// One fetch the source answered.
#[derive(Debug, Clone)]
pub struct Fetch {
    /// `axum` or `actix`: whose fetch.
    pub server: String,
    /// When the answer was made.
    pub at: Instant,
    /// The keys published (indices), or `None` when the fetch was failed on purpose.
    pub keys: Option<Vec<usize>>,
}

struct SourceState {
    mode: Mode,
    published: Vec<usize>,
    jwks: Vec<Value>,
    log: Vec<Fetch>,
    hang: Duration,
}

/// The controllable JWKS source.
#[derive(Clone)]
pub struct JwksSource {
    state: Arc<Mutex<SourceState>>,
    /// Where it listens.
    pub addr: std::net::SocketAddr,
}

impl fmt::Debug for JwksSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JwksSource").field("addr", &self.addr).finish_non_exhaustive()
    }
}

impl JwksSource {
    /// Starts serving no keys yet, in [`Mode::Serve`]; `hang` is how long a hung
    /// answer takes (longer than the guard's timeout).
    pub async fn start(hang: Duration) -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(SourceState {
            mode: Mode::Serve,
            published: Vec::new(),
            jwks: Vec::new(),
            log: Vec::new(),
            hang,
        }));
        let app = axum::Router::new().route("/{server}/keys", get(answer)).with_state(Arc::clone(&state));
        tokio::spawn(async move { axum::serve(listener, app).await });
        Self { state, addr }
    }

    fn lock(&self) -> MutexGuard<'_, SourceState> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The JWKS URL for one server.
    pub fn url(&self, server: &str) -> String {
        format!("http://{}/{server}/keys", self.addr)
    }

    /// Adds a key (its public JWK); returns its index.
    pub fn add_key(&self, jwk: Value) -> usize {
        let mut s = self.lock();
        s.jwks.push(jwk);
        s.jwks.len() - 1
    }

    /// Publishes exactly these keys.
    pub fn publish(&self, keys: &[usize]) {
        self.lock().published = keys.to_vec();
    }

    /// Sets the mode.
    pub fn set_mode(&self, mode: Mode) {
        self.lock().mode = mode;
    }

    /// Every fetch answered so far.
    pub fn log(&self) -> Vec<Fetch> {
        self.lock().log.clone()
    }
}

async fn answer(State(state): State<Arc<Mutex<SourceState>>>, Path(server): Path<String>) -> Response {
    let (mode, body, hang) = {
        let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
        let published = s.published.clone();
        let keys: Vec<Value> = published.iter().map(|&i| s.jwks[i].clone()).collect();
        let mode = s.mode;
        let logged = (mode == Mode::Serve).then(|| published.clone());
        s.log.push(Fetch { server, at: Instant::now(), keys: logged });
        (mode, json!({ "keys": keys }).to_string(), s.hang)
    };
    match mode {
        Mode::Serve => ([("content-type", "application/json")], body).into_response(),
        Mode::Error => StatusCode::INTERNAL_SERVER_ERROR.into_response(),
        Mode::Hang => {
            tokio::time::sleep(hang).await;
            StatusCode::SERVICE_UNAVAILABLE.into_response()
        }
        Mode::Garbage => ([("content-type", "application/json")], "{\"keys\": [ not json").into_response(),
    }
}

/// A signing key of the soak, with tokens minted in advance (RSA signing is the
/// costly part of the load, so it happens before the key is published).
pub struct SoakKey {
    /// Its index at the source.
    pub index: usize,
    /// Distinct valid user tokens with MFA (more than the token cache holds).
    pub valid: Vec<String>,
    /// Valid user tokens without MFA.
    pub no_mfa: Vec<String>,
}

impl fmt::Debug for SoakKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SoakKey({}, {} tokens)", self.index, self.valid.len() + self.no_mfa.len())
    }
}

impl SoakKey {
    /// Makes a key and its tokens, valid for `lifetime` (blocking: call it on a
    /// blocking thread). The key is registered at `source` but not published.
    pub fn make(source: &JwksSource, valid: usize, lifetime: Duration) -> Self {
        let issuer = DevIssuer::generate(ISSUER).expect("RSA key generation");
        let jwks: Value = serde_json::from_str(issuer.jwks_json()).expect("JWKS");
        let index = source.add_key(jwks["keys"][0].clone());
        let mint = |mfa: bool, n: usize| {
            (0..n)
                .map(|i| {
                    issuer
                        .user()
                        .mfa(mfa)
                        .lifetime(lifetime)
                        .claim("uti", json!(format!("soak-{index}-{mfa}-{i}")))
                        .sign()
                        .expect("sign")
                })
                .collect::<Vec<_>>()
        };
        Self { index, valid: mint(true, valid), no_mfa: mint(false, valid / 4) }
    }
}

/// Tokens that never depend on keys, and tokens under kids nobody publishes.
#[derive(Debug, Clone)]
pub struct Strangers {
    /// Garbage, expired, wrong audience: always `401 invalid_token`.
    pub invalid: Vec<String>,
    /// Signed under random kids the source never publishes.
    pub random_kid: Vec<String>,
}

impl Strangers {
    /// Mints them with a key of their own (blocking).
    pub fn make(random_kids: usize) -> Self {
        let issuer = DevIssuer::generate(ISSUER).expect("RSA key generation");
        let expired = issuer.user().claim("exp", json!(now_unix() - 3600)).sign().expect("sign");
        let wrong_aud = issuer.user().audience("https://graph.microsoft.com").sign().expect("sign");
        let random_kid = (0..random_kids)
            .map(|i| {
                let header = json!({"alg": "RS256", "kid": format!("random-kid-{i}-{}", now_unix())});
                issuer.sign_with_header(&header, &issuer.user().claims()).expect("sign")
            })
            .collect();
        Self { invalid: vec!["this-is-not-a-jwt".into(), expired, wrong_aud], random_kid }
    }
}

fn now_unix() -> i64 {
    mfa_guard_core::Clock::now_unix(&mfa_guard_core::SystemClock)
}

/// What a request of the load carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    /// A valid token with MFA, of the key current when the request was made.
    Valid,
    /// A valid token without MFA, of the current key.
    NoMfa,
    /// Garbage, expired or for another audience.
    Invalid,
    /// Under a kid never published.
    RandomKid,
    /// A valid token with MFA of the key rotated out last.
    Retired,
}

/// One request of the load and its answer.
#[derive(Debug, Clone)]
pub struct Sample {
    /// Index of the server in the targets.
    pub server: usize,
    /// What the request carried.
    pub kind: Kind,
    /// The key that signed it (for `Valid`, `NoMfa`, `Retired`).
    pub key: Option<usize>,
    /// When the request was sent.
    pub start: Instant,
    /// When the answer was read.
    pub end: Instant,
    /// The status line, or why there was none.
    pub status_line: String,
    /// The status code (0 when no answer).
    pub status: u16,
    /// The body's `code`, if any.
    pub code: Option<String>,
    /// Whether a numeric `Retry-After` came with it.
    pub retry_after: bool,
}

impl Sample {
    /// Records an answer.
    pub fn new(
        server: usize,
        kind: Kind,
        key: Option<usize>,
        start: Instant,
        answer: std::io::Result<RawResponse>,
    ) -> Self {
        let end = Instant::now();
        match answer {
            Ok(res) => Sample {
                server,
                kind,
                key,
                start,
                end,
                status: res.status,
                code: res.code(),
                retry_after: res.headers.iter().any(|(n, v)| n == "retry-after" && v.parse::<u64>().is_ok()),
                status_line: res.status_line,
            },
            Err(e) => Sample {
                server,
                kind,
                key,
                start,
                end,
                status_line: format!("no answer: {e}"),
                status: 0,
                code: None,
                retry_after: false,
            },
        }
    }

    fn answer(&self) -> (u16, Option<&str>) {
        (self.status, self.code.as_deref())
    }
}

/// Whether `key` was surely known to `server` for the whole of a request, surely
/// retired before it, or neither (see the module docs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Knowledge {
    /// Published to this server and not yet withdrawn.
    Known,
    /// Withdrawn from this server before the request.
    Retired,
    /// In between: any answer the rules allow.
    Unsure,
}

/// What the fetch log says about `key` for `server` during `[start, end]`. Each key
/// is published over one stretch of the schedule: the first fetch answered with it
/// makes it known (after [`MARGIN`]), the first fetch answered without it after
/// that withdraws it.
pub fn knowledge(log: &[Fetch], server: &str, key: usize, start: Instant, end: Instant) -> Knowledge {
    let mut served =
        log.iter().filter(|f| f.server == server).filter_map(|f| f.keys.as_ref().map(|k| (f.at, k)));
    let Some((published, _)) = served.by_ref().find(|(_, keys)| keys.contains(&key)) else {
        return Knowledge::Unsure;
    };
    let withdrawn = served.find(|(_, keys)| !keys.contains(&key)).map(|(at, _)| at);
    match withdrawn {
        Some(at) if at + MARGIN <= start => Knowledge::Retired,
        Some(at) if at <= end => Knowledge::Unsure,
        _ if published + MARGIN <= start => Knowledge::Known,
        _ => Knowledge::Unsure,
    }
}

const OK: (u16, Option<&str>) = (200, None);
const INVALID: (u16, Option<&str>) = (401, Some("invalid_token"));
const MFA: (u16, Option<&str>) = (401, Some("mfa_required"));
const UNAVAILABLE: (u16, Option<&str>) = (503, Some("key_source_unavailable"));

/// Every sample against the rules; returns one line per violation (times shown
/// from `base`).
pub fn judge(samples: &[Sample], log: &[Fetch], servers: &[&str], base: Instant) -> Vec<String> {
    let mut violations = Vec::new();
    for s in samples {
        let server = servers[s.server];
        let knows = s.key.map(|k| knowledge(log, server, k, s.start, s.end));
        let answer = s.answer();
        let allowed: &[(u16, Option<&str>)] = match (s.kind, knows) {
            (Kind::Valid, Some(Knowledge::Known)) => &[OK],
            (Kind::Valid, _) => &[OK, INVALID, UNAVAILABLE],
            (Kind::NoMfa, Some(Knowledge::Known)) => &[MFA],
            (Kind::NoMfa, _) => &[MFA, INVALID, UNAVAILABLE],
            (Kind::Retired, Some(Knowledge::Retired)) => &[INVALID, UNAVAILABLE],
            (Kind::Retired, Some(Knowledge::Known)) => &[OK],
            (Kind::Retired, _) => &[OK, INVALID, UNAVAILABLE],
            (Kind::Invalid, _) => &[INVALID],
            (Kind::RandomKid, _) => &[INVALID, UNAVAILABLE],
        };
        // A 200 has no code; compare the status alone.
        let fits =
            allowed.iter().any(|&(status, code)| status == answer.0 && (status == 200 || code == answer.1));
        if !fits {
            violations.push(format!(
                "[{server}] {:?} (key {:?}, {:?}) at +{:?}: {:?} code {:?}; allowed {allowed:?}",
                s.kind,
                s.key,
                knows,
                s.start.saturating_duration_since(base),
                s.status_line,
                s.code
            ));
        } else if s.status == 503 && !s.retry_after {
            violations.push(format!("[{server}] 503 without Retry-After"));
        }
    }
    violations
}

/// One server's fetches, compactly (`+3.2s [0, 1]`, `+9.0s failed`), for reports.
pub fn timeline(log: &[Fetch], server: &str, base: Instant) -> String {
    log.iter()
        .filter(|f| f.server == server)
        .map(|f| {
            let at = f.at.saturating_duration_since(base).as_secs_f64();
            match &f.keys {
                Some(k) => format!("+{at:.1}s {k:?}"),
                None => format!("+{at:.1}s failed"),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Counts of answers by kind, for the report.
pub fn tally(samples: &[Sample]) -> BTreeMap<(Kind, u16, String), usize> {
    let mut out = BTreeMap::new();
    for s in samples {
        *out.entry((s.kind, s.status, s.code.clone().unwrap_or_default())).or_insert(0) += 1;
    }
    out
}

/// This process's resident set size, in KiB (`VmRSS` of `/proc/self/status`).
pub fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// The configuration both servers get through `MFA_CONFIG`: short key timings so
/// that refreshes, cooldowns and backoff all happen within the soak.
pub const SOAK_CONFIG: &str = r#"# The soak's key settings: everything that takes minutes in production takes seconds here.
[keys]
connect_timeout = "1s"
timeout = "2s"
default_max_age = "2s"
min_max_age = "1s"
max_max_age = "2s"
unknown_kid_cooldown = "1s"
stale_if_error = "1h"
"#;

/// The audience of the soak's tokens.
pub const AUDIENCE: &str = DEV_AUDIENCE;

/// A small deterministic generator (xorshift64*): which kind and server each
/// request gets; no need for a random-number crate.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// Seeded; a zero seed is replaced.
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    /// The next number below `n`.
    pub fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n.max(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fetch(server: &str, at: Instant, keys: Option<Vec<usize>>) -> Fetch {
        Fetch { server: server.into(), at, keys }
    }

    #[test]
    fn a_key_is_known_only_after_a_margin_and_until_a_fetch_withdraws_it() {
        let t0 = Instant::now();
        let s = |n: u64| t0 + Duration::from_millis(n);
        let log = vec![
            fetch("axum", s(0), Some(vec![0])),
            fetch("axum", s(5_000), None),
            fetch("axum", s(10_000), Some(vec![1])),
        ];
        // Before it was ever published, an answer without the key withdraws nothing.
        assert_eq!(knowledge(&log, "axum", 1, s(12_000), s(12_100)), Knowledge::Known);
        assert_eq!(knowledge(&log, "axum", 0, s(500), s(600)), Knowledge::Unsure, "within the margin");
        assert_eq!(knowledge(&log, "axum", 0, s(1_000), s(1_100)), Knowledge::Known);
        assert_eq!(
            knowledge(&log, "axum", 0, s(9_000), s(9_100)),
            Knowledge::Known,
            "a failed fetch keeps it"
        );
        assert_eq!(knowledge(&log, "axum", 0, s(9_900), s(10_100)), Knowledge::Unsure, "withdrawn meanwhile");
        assert_eq!(knowledge(&log, "axum", 0, s(10_500), s(10_600)), Knowledge::Unsure, "within the margin");
        assert_eq!(knowledge(&log, "axum", 0, s(11_000), s(11_100)), Knowledge::Retired);
        assert_eq!(
            knowledge(&log, "actix", 0, s(3_000), s(3_100)),
            Knowledge::Unsure,
            "another server's fetch"
        );
        assert_eq!(knowledge(&log, "axum", 1, s(3_000), s(3_100)), Knowledge::Unsure, "not yet published");
    }

    #[test]
    fn judging_accepts_every_allowed_answer_and_nothing_else() {
        let t0 = Instant::now();
        let log = vec![fetch("axum", t0, Some(vec![0]))];
        let at = t0 + Duration::from_secs(2);
        let sample = |kind, key, status, code: Option<&str>| Sample {
            server: 0,
            kind,
            key,
            start: at,
            end: at,
            status_line: format!("HTTP/1.1 {status}"),
            status,
            code: code.map(str::to_owned),
            retry_after: true,
        };
        let ok = [
            sample(Kind::Valid, Some(0), 200, None),
            sample(Kind::NoMfa, Some(0), 401, Some("mfa_required")),
            sample(Kind::Invalid, None, 401, Some("invalid_token")),
            sample(Kind::RandomKid, None, 503, Some("key_source_unavailable")),
            sample(Kind::Valid, Some(1), 503, Some("key_source_unavailable")),
        ];
        assert!(judge(&ok, &log, &["axum"], t0).is_empty());
        let bad = [
            sample(Kind::Valid, Some(0), 401, Some("invalid_token")),
            sample(Kind::Valid, Some(0), 503, Some("key_source_unavailable")),
            sample(Kind::RandomKid, None, 200, None),
            sample(Kind::Invalid, None, 503, Some("key_source_unavailable")),
            sample(Kind::Valid, Some(1), 500, None),
        ];
        assert_eq!(judge(&bad, &log, &["axum"], t0).len(), bad.len());
    }
}
