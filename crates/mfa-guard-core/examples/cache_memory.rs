//! Memory of the verified-token cache: resident set size before and after caching
//! `N` distinct tokens (realistic Entra-like claims, HS256 so minting is fast; the
//! cached entry is the same whatever the algorithm).
//!
//! `cargo run --release -p mfa-guard-core --features dev-issuer --example cache_memory -- 100000`

use mfa_guard_core::{Admission, Algorithm, Evaluation, Guard, KeySource, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};
use serde_json::json;

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn main() {
    let n: u64 = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(100_000);
    let capacity: u64 = std::env::args().nth(2).and_then(|n| n.parse().ok()).unwrap_or(n * 2);
    let secret = b"memory benchmark secret, 32 bytes+";
    let issuer = DevIssuer::generate("https://sts.windows.net/{tenantid}/").expect("key");
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer("https://sts.windows.net/{tenantid}/")
                .keys(KeySource::hmac_secret(secret))
                .audience(DEV_AUDIENCE)
                .algorithms([Algorithm::HS256])
        })
        .token_cache_capacity(capacity)
        .build()
        .expect("guard");
    let key = jsonwebtoken::EncodingKey::from_secret(secret);
    let header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256);
    let mint = |i: u64| {
        let claims = issuer
            .user()
            .oid(format!("{:08x}-0000-4000-8000-{:012x}", i, i))
            .claim("sub", json!(format!("subject-{i:016x}")))
            .claim("upn", json!(format!("agent{i}@contoso.onmicrosoft.com")))
            .claim("uti", json!(format!("uti{i:019}")))
            .claims();
        jsonwebtoken::encode(&header, &claims, &key).expect("sign")
    };
    let sample = mint(0);
    let before = rss_kib();
    let mut admitted = 0u64;
    for i in 0..n {
        let h = format!("Bearer {}", mint(i));
        let req = RequestInfo::new("GET", "/commerce/customers").with_authorization(h.as_bytes());
        if let Evaluation::Ready(Admission::Admitted(_)) = guard.evaluate(&req) {
            admitted += 1;
        }
    }
    let after = rss_kib();
    let added = after.saturating_sub(before);
    println!(
        "{admitted}/{n} tokens admitted and cached (token {} bytes): RSS {before} KiB -> {after} KiB, +{} MiB, {} bytes per token",
        sample.len(),
        added / 1024,
        added * 1024 / n.max(1)
    );
}
