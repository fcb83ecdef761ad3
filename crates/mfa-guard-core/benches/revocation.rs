//! The cost of the revocation lookup on a signed-in request: `standing` with no
//! revocation against one million revoked sessions (plus a user cut and provider
//! sessions), and the memory a million revoked sessions take in the local view.
//!
//! Run: `cargo bench -p mfa-guard-core --bench revocation` (the memory line is
//! printed first; `-- --test` skips it and runs each benchmark once).

use std::hint::black_box;

use criterion::{Criterion, criterion_group};
use mfa_guard_core::ManualClock;
use mfa_guard_core::revocation::{Revocations, SessionFacts, SessionId, Standing};

const NOW: i64 = 1_900_000_000;
const MILLION: u32 = 1_000_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().build().unwrap()
}

/// A memory store holding `n` revoked sessions (ids made from a counter: the
/// lookup hashes them as it hashes random ones).
fn revoked(n: u32) -> Revocations {
    let r = Revocations::memory_with_clock(ManualClock::new(NOW));
    runtime().block_on(async {
        for i in 0..n {
            let mut bytes = [0u8; 16];
            bytes[..4].copy_from_slice(&i.to_le_bytes());
            r.revoke_session(&SessionId::from_bytes(bytes), NOW + 3600).await.unwrap();
        }
    });
    r
}

fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmRSS:")).map(str::to_owned))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

fn memory() {
    let before = rss_kib();
    let r = revoked(MILLION);
    let after = rss_kib();
    let per = (after.saturating_sub(before) * 1024) / u64::from(MILLION);
    eprintln!(
        "local view: {} revoked sessions take {} MiB of resident memory ({per} bytes each)",
        r.len(),
        after.saturating_sub(before) / 1024
    );
}

fn bench(c: &mut Criterion) {
    let empty = Revocations::memory_with_clock(ManualClock::new(NOW));
    let full = revoked(MILLION);
    runtime().block_on(async {
        full.revoke_user("someone-else", NOW - 10, NOW + 3600).await.unwrap();
        full.revoke_provider_session("another-op-session", NOW + 3600).await.unwrap();
    });
    let sid = SessionId::new().unwrap();
    let session = SessionFacts {
        sid: &sid,
        provider_sid: Some("op-session"),
        sub: Some("alice"),
        signed_in_at: NOW - 60,
    };
    let mut revoked_bytes = [0u8; 16];
    revoked_bytes[..4].copy_from_slice(&123_456u32.to_le_bytes());
    let revoked_sid = SessionId::from_bytes(revoked_bytes);
    let revoked_session = SessionFacts { sid: &revoked_sid, ..session };
    assert_eq!(empty.standing(&session, NOW), Standing::Valid);
    assert_eq!(full.standing(&session, NOW), Standing::Valid);
    assert_eq!(full.standing(&revoked_session, NOW), Standing::Revoked);

    let mut g = c.benchmark_group("standing");
    g.bench_function("valid, 0 revoked", |b| b.iter(|| empty.standing(black_box(&session), NOW)));
    g.bench_function("valid, 1M revoked", |b| b.iter(|| full.standing(black_box(&session), NOW)));
    g.bench_function("revoked, 1M revoked", |b| b.iter(|| full.standing(black_box(&revoked_session), NOW)));
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    if !std::env::args().any(|a| a == "--test" || a == "--list") {
        memory();
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
