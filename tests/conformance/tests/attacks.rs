//! The adversarial table against both example servers over real sockets: every
//! attack gets its exact answer, the same bytes from axum and actix, never a 200,
//! never a 500, and both servers keep answering. See `mfa_guard_conformance::attacks`
//! for the table and for why a few rows are answered by the HTTP server itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_guard_conformance::attacks::{Attack, health, run, table};
use mfa_guard_conformance::cases::Expect;
use mfa_guard_conformance::fixture::{Style, guard, issuer};
use mfa_guard_conformance::forge::ForeignKeys;
use mfa_guard_conformance::servers;
use mfa_guard_core::KeySet;
use serde_json::{Value, json};

/// A listener that only counts connections: the URL of `jku`/`x5u` headers.
struct Canary {
    url: String,
    hits: Arc<AtomicUsize>,
}

impl Canary {
    async fn start() -> Self {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let url = format!("http://{}/jwks.json", listener.local_addr().expect("addr"));
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&hits);
        tokio::spawn(async move {
            while let Ok((conn, _)) = listener.accept().await {
                counter.fetch_add(1, Ordering::SeqCst);
                drop(conn);
            }
        });
        Self { url, hits }
    }
}

fn the_table() -> Vec<Attack> {
    table("http://127.0.0.1:9/jwks.json", &ForeignKeys::generate())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_attack_gets_its_exact_answer_from_both_servers() {
    let canary = Canary::start().await;
    let g = guard(Style::PartnerCenter);
    let targets = servers::all(g).await;
    let attacks = table(&canary.url, &ForeignKeys::generate());
    let failures = run(&attacks, &targets).await;
    assert!(
        failures.is_empty(),
        "{} failures over {} attacks:\n{}",
        failures.len(),
        attacks.len(),
        failures.join("\n")
    );
    for target in &targets {
        health(target).await.unwrap_or_else(|e| panic!("{} after the table: {e}", target.name));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn key_carrying_headers_never_make_the_guard_fetch() {
    let canary = Canary::start().await;
    let g = guard(Style::PartnerCenter);
    let targets = servers::all(g).await;
    let attacks: Vec<Attack> = table(&canary.url, &ForeignKeys::generate())
        .into_iter()
        .filter(|a| a.case.name.contains("jku") || a.case.name.contains("x5u"))
        .collect();
    assert!(attacks.len() >= 8, "the jku/x5u rows are in the table");
    let failures = run(&attacks, &targets).await;
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Give any stray fetch time to connect.
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    assert_eq!(canary.hits.load(Ordering::SeqCst), 0, "a token header made the guard fetch its URL");
}

/// The key source's side: a JWKS is fetched over HTTPS from the issuer, but if it
/// were tampered with, or simply wrong, no unusable or foreign key may come out.
#[test]
fn a_jwks_never_yields_a_key_that_breaks_the_hygiene_rules() {
    let jwks: Value = serde_json::from_str(issuer().jwks_json()).expect("JWKS");
    let good = jwks["keys"][0].clone();
    let n = URL_SAFE_NO_PAD.decode(good["n"].as_str().expect("n")).expect("n");
    let with = |extra: Value| {
        let mut k = good.clone();
        for (name, v) in extra.as_object().expect("object") {
            k[name] = v.clone();
        }
        k
    };
    let p256 = json!({"kty": "EC", "crv": "P-256", "kid": "ec",
        "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"});
    let unusable = [
        ("an encryption key", with(json!({"use": "enc"}))),
        ("key_ops without verify", with(json!({"key_ops": ["encrypt", "wrapKey"]}))),
        ("an RSA key claiming ES256", with(json!({"alg": "ES256"}))),
        ("an RSA key claiming HS256", with(json!({"alg": "HS256"}))),
        ("an RSA key claiming none", with(json!({"alg": "none"}))),
        ("a 1024-bit modulus", with(json!({"n": URL_SAFE_NO_PAD.encode(&n[..128])}))),
        ("a 16384-bit modulus", with(json!({"n": URL_SAFE_NO_PAD.encode(n.repeat(8))}))),
        ("an empty exponent", with(json!({"e": ""}))),
        ("a padded modulus", with(json!({"n": format!("{}=", good["n"].as_str().expect("n"))}))),
        ("a symmetric key", json!({"kty": "oct", "kid": "s", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQ"})),
        (
            "an X25519 key",
            json!({"kty": "OKP", "crv": "X25519", "kid": "x", "x": URL_SAFE_NO_PAD.encode([9u8; 32])}),
        ),
        ("a P-256 point off the curve", {
            let mut k = p256.clone();
            k["y"] = json!(URL_SAFE_NO_PAD.encode([1u8; 32]));
            k
        }),
        ("P-256 coordinates of P-384 length", {
            let mut k = p256.clone();
            k["crv"] = json!("P-384");
            k
        }),
        ("an unknown key type", json!({"kty": "RSA-PSS", "kid": "u", "n": good["n"], "e": good["e"]})),
    ];
    for (name, key) in unusable {
        let doc = json!({"keys": [key]}).to_string();
        assert!(KeySet::from_json(doc.as_bytes()).is_err(), "{name} was taken from a JWKS");
        // Beside a good key, the bad one is skipped and the good one still serves.
        let doc = json!({"keys": [key, good]}).to_string();
        let set =
            KeySet::from_json(doc.as_bytes()).unwrap_or_else(|e| panic!("{name} beside a good key: {e}"));
        assert_eq!(set.len(), 1, "{name} was kept beside the good key");
    }
    assert!(
        KeySet::from_json(json!({"keys": [p256]}).to_string().as_bytes()).is_ok(),
        "the P-256 control is usable"
    );
}

#[test]
fn no_attack_expects_to_be_admitted() {
    for attack in the_table() {
        let admitted = matches!(attack.case.expect, Expect::Ok { .. });
        assert_eq!(
            admitted,
            attack.case.name.starts_with("control: "),
            "{}: only controls may be admitted",
            attack.case.name
        );
        if !admitted && !attack.server_level {
            let Expect::Refused { status_line, .. } = &attack.case.expect else { unreachable!() };
            assert!(!status_line.contains(" 5"), "{}: a designed answer is never 5xx", attack.case.name);
        }
    }
}

#[test]
fn attack_names_are_unique_and_every_section_of_the_issue_is_covered() {
    let attacks = the_table();
    let mut names: Vec<&str> = attacks.iter().map(|a| a.case.name.as_str()).collect();
    names.sort_unstable();
    let before = names.len();
    names.dedup();
    assert_eq!(names.len(), before, "duplicate attack names");
    for needle in [
        "alg nOnE",
        "HS256 keyed with the SPKI PEM",
        "HS384 keyed with the PKCS#1 DER",
        "HS512 keyed with the JWK",
        "PS256 by the issuer's own key",
        "ES256 by another key type",
        "signature stripped",
        "signature cut",
        "another key under the issuer's kid",
        "jku",
        "x5u",
        "embedded jwk",
        "x5c",
        "kid path traversal",
        "kid SQL",
        "kid of 10 KiB",
        "kid a number",
        "crit naming an unknown extension",
        "b64 false",
        "header alg twice",
        "payload amr twice",
        "nested 2000 deep",
        "600 claims",
        "a 0xFF byte",
        "standard base64 alphabet",
        "signature with padding",
        "space inside the token",
        "JWE-shaped",
        "one segment",
        "exp -1",
        "exp beyond u64",
        "exp 1e300",
        "exp a string",
        "nbf year 9999",
        "iat a string",
        "iat an hour ahead",
        "lifetime of 25 hours",
        "no iat",
        "aud a number",
        "aud an object",
        "aud an array holding null",
        "iss an array",
        "amr nested array",
        "amr object",
        "amr 'mfa '",
        "Cyrillic a",
        "tid a slash",
        "tid the placeholder itself",
        "tid not a GUID",
        "another tenant's Global Administrator",
        "a header of 17 KiB",
        "a header of 1 MiB",
        "50 Authorization headers",
        "0xFF after the token",
        "NUL after the token",
        "path /health/%2e%2e",
        "header with a hostile name twice",
        "payload with a hostile claim name twice",
    ] {
        assert!(names.iter().any(|n| n.contains(needle)), "no attack named like {needle:?}");
    }
}

#[test]
fn security_md_quotes_the_size_of_the_table() {
    let attacks = the_table();
    let controls = attacks.iter().filter(|a| a.case.name.starts_with("control: ")).count();
    let expected = format!("{} attacks and {controls} controls", attacks.len() - controls);
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../SECURITY.md");
    let text = std::fs::read_to_string(&path).expect("SECURITY.md");
    assert!(text.contains(&expected), "SECURITY.md should say {expected:?}: update its attack-table line");
}
