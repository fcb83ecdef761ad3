//! A loop of `Guard::evaluate` calls for profilers (callgrind, perf): one token,
//! checked `N` times on a cache hit or with the cache disabled.
//!
//! `cargo build --release -p mfa-guard-core --features dev-issuer --example check_loop`
//! then `valgrind --tool=callgrind target/release/examples/check_loop hit 20000`.

use mfa_guard_core::{Admission, Evaluation, Guard, RequestInfo};
use mfa_guard_dev::{DEV_AUDIENCE, DevIssuer};

fn main() {
    let mut args = std::env::args().skip(1);
    let mode = args.next().unwrap_or_else(|| "hit".into());
    let n: usize = args.next().and_then(|n| n.parse().ok()).unwrap_or(10_000);
    let issuer = DevIssuer::generate("https://sts.windows.net/{tenantid}/").expect("key");
    let guard = Guard::partner_center()
        .verifier(|v| {
            v.issuer("https://sts.windows.net/{tenantid}/")
                .keys(issuer.key_source().expect("keys"))
                .audience(DEV_AUDIENCE)
        })
        .token_cache_capacity(if mode == "miss" { 0 } else { 10_000 })
        .build()
        .expect("guard");
    let header = format!("Bearer {}", issuer.user().sign().expect("token"));
    let mut admitted = 0;
    for _ in 0..n {
        let req = RequestInfo::new("GET", "/commerce/customers").with_authorization(header.as_bytes());
        if let Evaluation::Ready(Admission::Admitted(_)) = guard.evaluate(&req) {
            admitted += 1;
        }
    }
    println!("{mode}: {admitted}/{n} admitted");
}
