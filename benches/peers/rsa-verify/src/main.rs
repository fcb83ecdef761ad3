//! One RS256 (RSASSA-PKCS1-v1_5 with SHA-256, 2048-bit key) verification of a
//! token-sized message: aws-lc-rs with a key parsed once (what mfa-guard does) against
//! ring with the key given as bytes (what jsonwebtoken 9 under jwt-authorizer does).
//! Alternating batches, medians.
//!
//! Usage: `taskset -c 0 bench-rsa-verify [BATCHES] [PER_BATCH]` (defaults: 15 2000).

use std::time::Instant;

use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self as aws, KeyPair as _};
use ring::signature as ring_sig;

fn main() {
    let mut args = std::env::args().skip(1);
    let batches: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(15);
    let per_batch: u32 = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);

    let key = aws::RsaKeyPair::generate(KeySize::Rsa2048).expect("key generation");
    // A development token's signing input is ~520 bytes.
    let message = vec![b'e'; 520];
    let mut signature = vec![0; key.public_modulus_len()];
    key.sign(&aws::RSA_PKCS1_SHA256, &aws_lc_rs::rand::SystemRandom::new(), &message, &mut signature)
        .expect("signing");
    let public = key.public_key().as_ref().to_vec();

    let aws_key = aws::ParsedPublicKey::new(&aws::RSA_PKCS1_2048_8192_SHA256, &public).expect("aws-lc key");
    let ring_key = ring_sig::UnparsedPublicKey::new(&ring_sig::RSA_PKCS1_2048_8192_SHA256, &public);

    let time = |verify: &dyn Fn() -> bool| {
        let start = Instant::now();
        for _ in 0..per_batch {
            assert!(verify(), "a valid signature was refused");
        }
        start.elapsed().as_secs_f64() * 1e6 / f64::from(per_batch)
    };
    let (mut aws_us, mut ring_us) = (Vec::new(), Vec::new());
    for _ in 0..batches {
        aws_us.push(time(&|| aws_key.verify_sig(&message, &signature).is_ok()));
        ring_us.push(time(&|| ring_key.verify(&message, &signature).is_ok()));
    }
    let median = |v: &mut Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    let (a, r) = (median(&mut aws_us), median(&mut ring_us));
    println!(
        "aws-lc-rs, key parsed once: {a:6.2} µs per verification (median of {batches} batches of {per_batch})"
    );
    println!("ring, key as bytes:         {r:6.2} µs per verification");
    println!("ring / aws-lc-rs:           {:6.2}x", r / a);
}
