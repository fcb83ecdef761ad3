//! The session cookie's hand-written encoding against postcard, on the whole path
//! each takes: encode + seal (a sign-in, a refresh) and open + decode (a request
//! whose cookie this thread has not opened yet).

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use mfa_guard_core::browser::SessionKeys;
use mfa_guard_core::browser::encoding_bench as e;

fn encodings(c: &mut Criterion) {
    let keys = SessionKeys::parse("k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
    let session = e::typical();
    let (hand, post) = e::sizes(&session);
    println!("encoded sizes: hand-written {hand} bytes, postcard {post} bytes");
    let hand_value = e::seal_handwritten(&keys, &session);
    let post_value = e::seal_postcard(&keys, &session);
    assert!(e::open_handwritten(&keys, &hand_value) && e::open_postcard(&keys, &post_value));
    let mut group = c.benchmark_group("session_encoding");
    group.bench_function("seal/hand-written", |b| b.iter(|| e::seal_handwritten(&keys, black_box(&session))));
    group.bench_function("seal/postcard", |b| b.iter(|| e::seal_postcard(&keys, black_box(&session))));
    group.bench_function("open/hand-written", |b| {
        b.iter(|| e::open_handwritten(&keys, black_box(&hand_value)))
    });
    group.bench_function("open/postcard", |b| b.iter(|| e::open_postcard(&keys, black_box(&post_value))));
    group.finish();
}

criterion_group!(benches, encodings);
criterion_main!(benches);
