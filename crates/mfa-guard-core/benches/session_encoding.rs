//! The session cookie on the whole path each direction takes: encode + seal (a
//! sign-in, a refresh) and open + decode (a request whose cookie this thread has
//! not opened yet). Commit a3cf207 ran this against the hand-written encoding it
//! replaced (see BENCHMARKS.md).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_guard_core::browser::SessionKeys;
use mfa_guard_core::dev::session_encoding as e;

fn encoding(c: &mut Criterion) {
    let keys = SessionKeys::parse("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let session = e::typical();
    println!("encoded size: {} bytes", e::size(&session));
    let value = e::seal(&keys, &session);
    assert!(e::open(&keys, &value));
    let mut group = c.benchmark_group("session_encoding");
    group.bench_function("seal", |b| b.iter(|| e::seal(&keys, black_box(&session))));
    group.bench_function("open", |b| b.iter(|| e::open(&keys, black_box(&value))));
    group.finish();
}

criterion_group!(benches, encoding);
criterion_main!(benches);
