//! The engine's hot paths, against `jsonwebtoken::decode` alone on the same token.
//!
//! Run: `cargo bench -p mfa-guard-core --bench check`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use jsonwebtoken::{DecodingKey, Validation};
use mfa_guard_core::{Admission, Claims, Evaluation, Guard, Refusal, RejectionCode, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};

const ISSUER: &str = "https://sts.windows.net/{tenantid}/";

fn guard(issuer: &DevIssuer, cache: u64) -> Guard {
    Guard::partner_center()
        .verifier(|v| v.issuer(ISSUER).keys(issuer.key_source().unwrap()).audience(DEV_AUDIENCE))
        .token_cache_capacity(cache)
        .build()
        .unwrap()
}

fn admitted(guard: &Guard, header: &[u8]) -> bool {
    let req = RequestInfo::new("GET", "/commerce/customers").with_authorization(header);
    matches!(guard.evaluate(&req), Evaluation::Ready(Admission::Admitted(_)))
}

fn bench(c: &mut Criterion) {
    let issuer = DevIssuer::generate(ISSUER).unwrap();
    let token = issuer.user().sign().unwrap();
    let header = format!("Bearer {token}");

    let cached = guard(&issuer, 10_000);
    assert!(admitted(&cached, header.as_bytes()));
    // The same route asking a stronger level within an hour (per-route assurance):
    // what a rule with a level and a freshness adds to a cached decision.
    let assured = Guard::builder()
        .verifier(|v| v.issuer(ISSUER).keys(issuer.key_source().unwrap()).audience(DEV_AUDIENCE))
        .policy(
            mfa_guard_core::Policy::partner_center()
                .assurance_level(
                    mfa_guard_core::AssuranceLevel::new("phishing-resistant").auth_contexts(["c2"]),
                )
                .route(
                    "/commerce/*",
                    mfa_guard_core::Requirement::mfa()
                        .any_role([mfa_guard_core::Role::AdminAgent])
                        .assurance("phishing-resistant")
                        .max_age(std::time::Duration::from_secs(3600)),
                ),
        )
        .build()
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let strong = issuer
        .user()
        .claim("acrs", serde_json::json!(["c2"]))
        .claim("auth_time", serde_json::json!(now - 60))
        .sign()
        .unwrap();
    let strong_header = format!("Bearer {strong}");
    assert!(admitted(&assured, strong_header.as_bytes()));
    let uncached = guard(&issuer, 0);
    assert!(admitted(&uncached, header.as_bytes()));

    let jwk: serde_json::Value = serde_json::from_str(issuer.jwks_json()).unwrap();
    let key = DecodingKey::from_rsa_components(
        jwk["keys"][0]["n"].as_str().unwrap(),
        jwk["keys"][0]["e"].as_str().unwrap(),
    )
    .unwrap();
    let mut validation = Validation::new(jsonwebtoken::Algorithm::RS256);
    validation.set_audience(&[DEV_AUDIENCE]);
    validation.set_issuer(&[issuer.token_issuer()]);
    assert!(jsonwebtoken::decode::<serde_json::Value>(&token, &key, &validation).is_ok());

    // Eight tokens in turn: more than a thread remembers, so every check goes to the
    // shared level (SHA-256 of the token, moka lookup).
    let rotating: Vec<String> = (0..8)
        .map(|i| format!("Bearer {}", issuer.user().claim("jti", serde_json::json!(i)).sign().unwrap()))
        .collect();
    for h in &rotating {
        assert!(admitted(&cached, h.as_bytes()));
    }

    // A browser with a session cookie (browser mode), on the same MFA route: the
    // cookie opened (AES-256-GCM-SIV), its facts parsed, the policy applied.
    let browser = mfa_guard_core::browser::Browser::new(
        "web-app",
        "https://app.example/auth/callback",
        "https://issuer.example/.well-known/openid-configuration",
        mfa_guard_core::browser::SessionKeys::parse("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
            .unwrap(),
    );
    let with_sessions = Guard::partner_center()
        .verifier(|v| v.issuer(ISSUER).keys(issuer.key_source().unwrap()).audience(DEV_AUDIENCE))
        .browser(browser)
        .build()
        .unwrap();
    let claims = Claims::from_json(
        br#"{"sub":"s","oid":"aaaaaaaa-0000-1111-2222-bbbbbbbbbbbb","tid":"aaaabbbb-0000-cccc-1111-dddd2222eeee",
            "upn":"adminagent@dev.example","roles":["AdminAgent"],"amr":["pwd","mfa"],"auth_time":1700000000}"#,
    )
    .unwrap();
    let cookie = mfa_guard_core::dev::session_cookie(&with_sessions, &claims).unwrap();
    let cookies = [cookie.as_bytes()];
    let session_admitted = |guard: &Guard| {
        let req = RequestInfo::new("GET", "/commerce/customers")
            .with_cookies(&cookies)
            .with_navigation_headers(Some(b"navigate"), Some(b"text/html"));
        matches!(guard.evaluate(&req), Evaluation::Ready(Admission::Admitted(_)))
    };
    assert!(session_admitted(&with_sessions));

    let mut group = c.benchmark_group("check");
    group.bench_function("browser_session", |b| b.iter(|| session_admitted(black_box(&with_sessions))));
    // Eight sessions in turn: more than a thread remembers, so each is opened
    // (base64, AES-256-GCM-SIV, the session decoded, the caller built).
    let many: Vec<String> = (0..8)
        .map(|i| {
            let claims = Claims::from_json(
                format!(r#"{{"sub":"s{i}","amr":["pwd","mfa"],"roles":["AdminAgent"]}}"#).as_bytes(),
            )
            .unwrap();
            mfa_guard_core::dev::session_cookie(&with_sessions, &claims).unwrap()
        })
        .collect();
    let mut turn = 0;
    group.bench_function("browser_session_opened", |b| {
        b.iter(|| {
            turn = (turn + 1) % many.len();
            let cookies = [many[turn].as_bytes()];
            let req = RequestInfo::new("GET", "/commerce/customers")
                .with_cookies(&cookies)
                .with_navigation_headers(Some(b"navigate"), Some(b"text/html"));
            matches!(with_sessions.evaluate(black_box(&req)), Evaluation::Ready(Admission::Admitted(_)))
        })
    });
    group.bench_function("guard_cache_hit", |b| b.iter(|| admitted(&cached, black_box(header.as_bytes()))));
    group.bench_function("guard_cache_hit_level_and_max_age", |b| {
        b.iter(|| admitted(&assured, black_box(strong_header.as_bytes())))
    });
    let mut turn = 0;
    group.bench_function("guard_cache_hit_shared_level", |b| {
        b.iter(|| {
            turn = (turn + 1) % rotating.len();
            admitted(&cached, black_box(rotating[turn].as_bytes()))
        })
    });
    group
        .bench_function("guard_cache_miss", |b| b.iter(|| admitted(&uncached, black_box(header.as_bytes()))));
    group.bench_function("jsonwebtoken_decode", |b| {
        b.iter(|| jsonwebtoken::decode::<serde_json::Value>(black_box(&token), &key, &validation).is_ok())
    });
    // References for the targets: one RS256 verification (the cost a cache miss
    // cannot avoid) and SHA-256 of the whole token (the largest part of a hit).
    let jwks = mfa_guard_core::KeySet::from_json(issuer.jwks_json().as_bytes()).unwrap();
    let key = jwks.iter().next().unwrap().clone();
    let (signing_input, signature) = token.rsplit_once('.').unwrap();
    let signature =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, signature).unwrap();
    assert!(key.verify(mfa_guard_core::Algorithm::RS256, signing_input.as_bytes(), &signature));
    group.bench_function("rs256_verify_only", |b| {
        b.iter(|| {
            key.verify(mfa_guard_core::Algorithm::RS256, black_box(signing_input.as_bytes()), &signature)
        })
    });
    group.bench_function("sha256_of_token", |b| {
        b.iter(|| aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, black_box(token.as_bytes())))
    });
    group.finish();

    let payload = serde_json::to_vec(&issuer.user().claims()).unwrap();
    c.bench_function("claims/parse", |b| b.iter(|| Claims::from_json(black_box(&payload)).is_ok()));

    let req = RequestInfo::new("GET", "/v1/catalog/prices").with_authorization(header.as_bytes());
    let Evaluation::Ready(Admission::Admitted(principal)) = cached.evaluate(&req) else { panic!("admitted") };
    let mut policy = c.benchmark_group("policy");
    policy.bench_function("authorize_plain_path", |b| {
        b.iter(|| cached.authorize(&principal, "GET", black_box("/security/alerts")).is_err())
    });
    // Escapes make the path rule decode and check each segment before the rule is
    // chosen; a dot segment is refused there, before any rule.
    policy.bench_function("authorize_escaped_path", |b| {
        b.iter(|| cached.authorize(&principal, "GET", black_box("/security/%61lerts/caf%C3%A9")).is_err())
    });
    policy.bench_function("refuse_dot_segment_path", |b| {
        b.iter(|| cached.authorize(&principal, "GET", black_box("/health/../security/alerts")).is_err())
    });
    policy.finish();

    c.bench_function("rejection/render_mfa_required", |b| {
        b.iter(|| {
            let r = cached.reject(Refusal::new(RejectionCode::MfaRequired, "needs mfa"));
            let headers: usize = r.headers().map(|(n, v)| n.len() + v.len()).sum();
            headers + r.body().len()
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
