//! One request's work in the engine, for figures that do not move with the host:
//! `benches/instructions.sh` runs each scenario under callgrind, counting only inside
//! [`measured`], and reports instructions and heap allocations per request.
//!
//! Scenarios (`per_request SCENARIO N`): `floor` (a public route, no token: the
//! guard's own minimum), `hit` (a verified-token cache hit), `verified` (the cache
//! off: RS256 verification, claims, policy), `session` (a signed-in browser's
//! cookie), `rs256` (one RS256 verification alone, the cost `verified` cannot
//! avoid). `cargo bench -p mfa-guard-core --bench per_request` times each.

use std::hint::black_box;
use std::time::Instant;

use mfa_guard_core::{Admission, Claims, Evaluation, Guard, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};

const ISSUER: &str = "https://sts.windows.net/{tenantid}/";

/// A scenario: one request, evaluated; whether it had the expected outcome.
type Request<'a> = Box<dyn Fn() -> bool + 'a>;

struct Setup {
    issuer: DevIssuer,
    header: String,
}

fn guard(setup: &Setup, cache: u64, browser: bool) -> Guard {
    let keys = setup.issuer.key_source().expect("keys");
    let builder = Guard::partner_center()
        .verifier(|v| v.issuer(ISSUER).keys(keys).audience(DEV_AUDIENCE))
        .token_cache_capacity(cache);
    let builder = if browser {
        builder.browser(mfa_guard_core::browser::Browser::new(
            "web-app",
            "https://app.example/auth/callback",
            "https://issuer.example/.well-known/openid-configuration",
            mfa_guard_core::browser::SessionKeys::parse("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
                .expect("session keys"),
        ))
    } else {
        builder
    };
    builder.build().expect("guard")
}

fn admitted(evaluation: &Evaluation) -> bool {
    matches!(evaluation, Evaluation::Ready(Admission::Admitted(_)))
}

fn scenario<'a>(name: &str, setup: &'a Setup) -> Request<'a> {
    match name {
        "floor" => {
            let guard = guard(setup, 10_000, false);
            Box::new(move || {
                let req = RequestInfo::new("GET", "/health");
                matches!(guard.evaluate(&req), Evaluation::Ready(Admission::Anonymous(_)))
            })
        }
        "hit" | "verified" => {
            let guard = guard(setup, if name == "hit" { 10_000 } else { 0 }, false);
            Box::new(move || {
                let req = RequestInfo::new("GET", "/commerce/customers")
                    .with_authorization(setup.header.as_bytes());
                admitted(&guard.evaluate(&req))
            })
        }
        "session" => {
            let guard = guard(setup, 10_000, true);
            let claims = Claims::from_json(
                br#"{"sub":"s","oid":"aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb","tid":"aaaabbbb-0000-cccc-1111-dddd2222eeee",
                    "upn":"adminagent@dev.example","roles":["AdminAgent"],"amr":["pwd","mfa"],"auth_time":1700000000}"#,
            )
            .expect("claims");
            let cookie = mfa_guard_core::dev::session_cookie(&guard, &claims).expect("session cookie");
            Box::new(move || {
                let cookies = [cookie.as_bytes()];
                let req = RequestInfo::new("GET", "/commerce/customers")
                    .with_cookies(&cookies)
                    .with_navigation_headers(Some(b"navigate"), Some(b"text/html"));
                admitted(&guard.evaluate(&req))
            })
        }
        "rs256" => {
            let jwks = mfa_guard_core::KeySet::from_json(setup.issuer.jwks_json().as_bytes()).expect("jwks");
            let key = jwks.iter().next().expect("a key").clone();
            let token = &setup.header["Bearer ".len()..];
            let (input, signature) = token.rsplit_once('.').expect("a signature");
            let signature =
                base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature)
                    .expect("base64");
            Box::new(move || key.verify(mfa_guard_core::Algorithm::RS256, input.as_bytes(), &signature))
        }
        other => panic!("unknown scenario {other:?}: floor, hit, verified, session or rs256"),
    }
}

/// The requests callgrind counts (`--toggle-collect=*measured*`): nothing else runs
/// inside, so its instructions and allocations divided by `n` are one request's.
#[inline(never)]
fn measured(request: &Request<'_>, n: u64) -> u64 {
    let mut passed = 0;
    for _ in 0..n {
        passed += u64::from(black_box(request()));
    }
    passed
}

const SCENARIOS: [&str; 5] = ["floor", "hit", "verified", "session", "rs256"];

fn main() {
    let issuer = DevIssuer::generate(ISSUER).expect("key");
    let header = format!("Bearer {}", issuer.user().sign().expect("token"));
    let setup = Setup { issuer, header };
    let args: Vec<String> = std::env::args().skip(1).filter(|a| !a.starts_with("--")).collect();
    match args.as_slice() {
        [name, n] => {
            let n: u64 = n.parse().expect("N: a number of requests");
            let request = scenario(name, &setup);
            // Once outside the count: lazy statics, the cache's first entry, the
            // thread's remembered tokens.
            assert!(request(), "{name}: the request did not have the expected outcome");
            assert_eq!(measured(&request, n), n, "{name}: a request did not have the expected outcome");
        }
        _ => {
            for name in SCENARIOS {
                let request = scenario(name, &setup);
                assert!(request(), "{name}: the request did not have the expected outcome");
                let n = if name == "verified" || name == "rs256" { 2_000 } else { 200_000 };
                let start = Instant::now();
                assert_eq!(measured(&request, n), n);
                let ns = start.elapsed().as_secs_f64() * 1e9 / n as f64;
                println!("per_request/{name:<8} {ns:>9.0} ns");
            }
        }
    }
}
