//! The identity assertion's share of an admitted decision: `Assertions::assert`
//! for a caller already admitted, with its signature cached (the same caller,
//! upstream and rule within the reuse window: what a busy caller pays on almost
//! every request) against signing it each time (the window passed: a new ES256
//! signature, as every request would pay without the cache).
//!
//! Run: `cargo bench -p mfa-guard-serve --bench assertion`. The first line printed
//! is the ratio of the two, from alternating rounds in this process (paired per
//! round, so a drift of the machine between rounds cancels out); criterion's
//! figures for each follow. `-- --test` skips the rounds and runs each once.

use std::hint::black_box;
use std::time::Instant;

use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
use criterion::{Criterion, criterion_group};
use jsonwebtoken::{EncodingKey, Header};
use mfa_guard_core::{Admission, Guard, KeySource, ManualClock, PathRules, Policy, Principal, RequestInfo};
use mfa_guard_serve::{ASSERTION_LIFETIME, AssertionKeys, Assertions, REUSE_MARGIN};
use serde_json::json;

const NOW: i64 = 1_900_000_000;
const ISSUER: &str = "https://issuer.bench";
const AUDIENCE: &str = "https://api.bench";
/// The upstream the recipe names.
const UPSTREAM: &str = "app";
/// How far to move the clock so the cached assertion is past its reuse window.
const PAST_THE_WINDOW: i64 = ASSERTION_LIFETIME - REUSE_MARGIN + 1;

/// A caller admitted on an MFA route (a user with MFA and a role, as a signed-in
/// person at the gate), by a guard built as `serve` builds it. The token lives for
/// years, so moving the clock past the reuse window never reaches its expiry.
fn admitted() -> Principal {
    let rng = aws_lc_rs::rand::SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng).expect("a P-256 key");
    let der = pkcs8.as_ref().to_vec();
    let ring = AssertionKeys::from_pkcs8([("issuer key", der.as_slice())]).expect("a key");
    let keys = KeySource::jwks_json(ring.jwks_json().as_bytes()).expect("a JWKS");
    let guard = Guard::builder()
        .verifier(|v| v.issuer(ISSUER).keys(keys).audience(AUDIENCE).clock(ManualClock::new(NOW)))
        .policy(Policy::partner_center())
        .path_rules(PathRules::strict())
        .build()
        .expect("a guard");
    let mut header = Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = ring.kids().next().map(str::to_owned);
    let claims = json!({
        "iss": ISSUER, "aud": AUDIENCE, "iat": NOW - 10, "exp": NOW + 20 * 365 * 86_400,
        "sub": "sub-1", "oid": "oid-1", "tid": "aaaabbbb-0000-cccc-1111-dddd2222eeee",
        "scp": "user_impersonation", "roles": ["AdminAgent"], "amr": ["pwd", "mfa"], "auth_time": NOW - 100,
    });
    let token = jsonwebtoken::encode(&header, &claims, &EncodingKey::from_ec_der(&der)).expect("signed");
    let authorization = format!("Bearer {token}");
    let req = RequestInfo::new("GET", "/commerce/customers").with_authorizations([authorization.as_bytes()]);
    let rt = tokio::runtime::Builder::new_current_thread().build().expect("a runtime");
    match rt.block_on(guard.check(&req)) {
        Admission::Admitted(principal) => principal,
        other => panic!("not admitted: {other:?}"),
    }
}

fn assertions() -> Assertions {
    Assertions::new("mfa-guard-serve", AssertionKeys::generate().expect("a key")).expect("assertions")
}

/// The two cases, each owning its signer and its clock.
struct Cases {
    principal: Principal,
    warm: Assertions,
    signing: Assertions,
    signing_now: i64,
}

impl Cases {
    fn new() -> Self {
        let principal = admitted();
        let warm = assertions();
        let first = warm.assert(&principal, UPSTREAM, NOW).expect("an assertion");
        assert_eq!(
            warm.assert(&principal, UPSTREAM, NOW),
            Some(first.clone()),
            "a warm cache hands it out again"
        );
        let mut cases = Self { principal, warm, signing: assertions(), signing_now: NOW };
        let a = cases.sign_anew().expect("an assertion");
        assert_ne!(cases.sign_anew(), Some(a), "past the window, a new signature");
        cases
    }

    fn warm_hit(&self) -> Option<axum::http::HeaderValue> {
        self.warm.assert(black_box(&self.principal), UPSTREAM, NOW)
    }

    fn sign_anew(&mut self) -> Option<axum::http::HeaderValue> {
        self.signing_now += PAST_THE_WINDOW;
        self.signing.assert(black_box(&self.principal), UPSTREAM, self.signing_now)
    }
}

/// Nanoseconds per call of `f`, over `n` calls.
fn time_per_call(n: u32, mut f: impl FnMut()) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        f();
    }
    start.elapsed().as_secs_f64() * 1e9 / f64::from(n)
}

/// Seven alternating rounds of both cases; prints the medians and the paired ratio.
fn rounds() {
    let mut cases = Cases::new();
    let (mut warm, mut signed, mut ratios) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..7 {
        let w = time_per_call(200_000, || {
            black_box(cases.warm_hit());
        });
        let s = time_per_call(5_000, || {
            black_box(cases.sign_anew());
        });
        warm.push(w);
        signed.push(s);
        ratios.push(s / w);
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (w, s) = (median(&mut warm), median(&mut signed));
    eprintln!(
        "assertion, 7 alternating rounds (medians): cache warm {w:.0} ns, signed each time {s:.0} ns; \
         signed / warm {:.1}x (ratio of medians), {:.1}x (paired per round)",
        s / w,
        median(&mut ratios)
    );
}

fn bench(c: &mut Criterion) {
    let mut cases = Cases::new();
    let mut g = c.benchmark_group("assertion");
    g.bench_function("cache warm", |b| b.iter(|| cases.warm_hit()));
    g.bench_function("signed each time (ES256)", |b| b.iter(|| cases.sign_anew()));
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        rounds();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
