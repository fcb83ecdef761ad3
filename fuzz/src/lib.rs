//! What the fuzz targets run, kept in a library so a crashing input can be replayed
//! from a plain test (`cargo test --manifest-path fuzz/Cargo.toml`) and so the seed
//! corpus is written by the same code that reads it.
//!
//! Every target checks more than "does not panic": each states what must hold of
//! the engine's answer for *any* input, and compares the engine's verdict with an
//! independent reading of the same bytes (serde_json's `Value`, a naive header
//! split) so that a parser differential is a crash, not a silent pass.

#![forbid(unsafe_code)]

use std::future::Future;
use std::pin::pin;
use std::sync::OnceLock;
use std::task::{Context, Poll, Waker};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use mfa_guard_core::rejection::parse_challenge;
use mfa_guard_core::{
    Admission, Algorithm, CallerKind, Config, Evaluation, Guard, KeySet, KeySource, ManualClock, Policy,
    Principal, Rejection, RejectionCode, RequestInfo,
};
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT, DevIssuer};
use serde_json::{Value, json};

/// The guard's clock: fixed, so a seed token never expires and runs are repeatable.
pub const NOW: i64 = 1_900_000_000;
/// The issuer of RS256 tokens; its key is made afresh in every process, so no
/// input can carry a valid RS256 signature.
pub const RSA_ISSUER: &str = "https://sts.windows.net/{tenantid}/";
/// The `kid` the RSA key is published under.
pub const KID: &str = "fuzz-kid";
/// The issuer of HS256 tokens, which the harness signs itself to reach the policy.
pub const HMAC_ISSUER: &str = "https://fuzz.example/hmac";
/// The shared secret of [`HMAC_ISSUER`] (a fuzzing fixture, not a secret).
pub const HMAC_SECRET: &[u8] = b"fuzzing fixture secret for the HS256 issuer only";

/// Paths the token target picks from: `(path, needs MFA of users, admits apps)`.
/// The last two cannot be read one way (dot segments, escapes): the guard refuses
/// them before choosing a rule, so nothing may ever be admitted there — treating them
/// as MFA routes keeps `admissible` strict should that rule ever break.
pub const ROUTES: &[(&str, bool, bool)] = &[
    ("/health", false, true),
    ("/overview", false, true),
    ("/commerce/customers", true, false),
    ("/billing/invoices", true, false),
    ("/security/alerts", true, false),
    ("/dashboard/v2/support/customers/1", true, false),
    ("/v1/catalog/prices", true, true),
    ("/v1/customers/contoso", true, false),
    ("/health/../commerce/customers", true, false),
    ("/Commerce/%2e%2e/commerce/x", true, false),
];

/// The RSA issuer of this process (random key, published as [`KID`]).
pub fn rsa_issuer() -> &'static DevIssuer {
    static I: OnceLock<DevIssuer> = OnceLock::new();
    I.get_or_init(|| DevIssuer::generate(RSA_ISSUER).expect("RSA key generation"))
}

fn rsa_keys() -> KeySource {
    let mut jwks: Value = serde_json::from_str(rsa_issuer().jwks_json()).expect("JWKS");
    jwks["keys"][0]["kid"] = json!(KID);
    KeySource::jwks(KeySet::from_json(jwks.to_string().as_bytes()).expect("key set"))
}

/// The guard of the token target: the Partner Center preset; the RSA issuer with
/// its static key; the HMAC issuer; HS256 allowed (for the HMAC issuer only); no
/// verified-token cache, so every input is judged on its own (repeatable runs).
pub fn guard() -> &'static Guard {
    static G: OnceLock<Guard> = OnceLock::new();
    G.get_or_init(|| {
        let algorithms =
            Algorithm::ALL.into_iter().filter(|a| *a != Algorithm::HS384 && *a != Algorithm::HS512);
        Guard::builder()
            .verifier(|v| {
                v.issuer(RSA_ISSUER)
                    .keys(rsa_keys())
                    .issuer(HMAC_ISSUER)
                    .keys(KeySource::hmac_secret(HMAC_SECRET))
                    .audience(DEV_AUDIENCE)
                    .algorithms(algorithms)
                    .clock(ManualClock::new(NOW))
            })
            .token_cache_capacity(0)
            .policy(Policy::partner_center())
            .build()
            .expect("the fuzz guard builds")
    })
}

/// Drives a check to its end. Every key source here is static, so a pending check
/// finishes on its first poll; one that does not is reported as `None`.
pub fn decide(guard: &Guard, req: &RequestInfo<'_>) -> Option<Result<Option<Principal>, Rejection>> {
    match guard.evaluate(req) {
        Evaluation::Ready(admission) => Some(admission.into_result()),
        Evaluation::Pending(pending) => poll_once(pending.finish()).map(Admission::into_result),
    }
}

fn poll_once<F: Future>(fut: F) -> Option<F::Output> {
    let mut fut = pin!(fut);
    match fut.as_mut().poll(&mut Context::from_waker(Waker::noop())) {
        Poll::Ready(out) => Some(out),
        Poll::Pending => None,
    }
}

/// What must hold of every rejection, whatever the input: the status fits the
/// code, the challenge is a valid header value that parses back, the body is
/// problem+json naming the code, and no byte of the presented token comes back.
pub fn check_rejection(rejection: &Rejection, presented: &[u8]) {
    let code = rejection.code();
    assert_eq!(rejection.status(), code.status(), "{code:?}");
    assert!(matches!(rejection.status(), 400 | 401 | 403 | 503), "status {}", rejection.status());
    if let Some(www) = rejection.www_authenticate() {
        assert!(www.bytes().all(|b| (0x20..0x7f).contains(&b)), "challenge is not visible ASCII: {www:?}");
        let parsed = parse_challenge(www).unwrap_or_else(|| panic!("challenge does not parse: {www:?}"));
        assert_eq!(parsed.scheme, "Bearer");
    }
    assert_eq!(rejection.retry_after().is_some(), code == RejectionCode::KeySourceUnavailable);
    let body: Value = serde_json::from_slice(&rejection.body()).expect("the body is JSON");
    assert_eq!(body["code"], code.as_str());
    assert_eq!(body["status"], rejection.status());
    // A token must never be echoed. Only a credential shaped like a JWT is looked
    // for: a kid or alg may be quoted (bounded) and the fixed descriptions are
    // plain words, so neither can hold a dotted b64token of 24 bytes or more, but
    // arbitrary bytes can (the fuzzer once spelled "ader contains bytes outside …").
    let jwt_shaped = presented.contains(&b'.')
        && presented.iter().all(|&b| b.is_ascii_alphanumeric() || b"-._~+/=".contains(&b));
    if presented.len() >= 24 && jwt_shaped {
        let rendered = [rejection.detail().as_bytes(), rejection.www_authenticate().unwrap_or("").as_bytes()];
        for text in rendered {
            assert!(!contains(text, presented), "a rejection echoes the token");
        }
    }
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.len() <= haystack.len() && haystack.windows(needle.len()).any(|w| w == needle)
}

/// The bearer credentials of a header value as a naive reader sees them.
fn naive_credentials(value: &[u8]) -> &[u8] {
    let trimmed = value.trim_ascii();
    match trimmed.iter().position(|&b| b == b' ' || b == b'\t') {
        Some(i) => trimmed[i..].trim_ascii(),
        None => b"",
    }
}

/// The `token` target: the first byte picks a mode, the second a route.
///
/// - mode 0: the rest is an `Authorization` header value. No input can hold a valid
///   signature (the RSA key is new in every process, the HMAC is the harness's), so
///   nothing may ever be admitted with a principal.
/// - mode 1: the rest is a payload; the harness signs it (HS256) so the claims
///   parser, caller kind and policy are reached. Whatever is admitted must also be
///   admissible to an independent reading of the same JSON.
/// - mode 2: as mode 1 with a header of the input's choosing (before the first NUL).
pub fn token(data: &[u8]) {
    let [mode, route, rest @ ..] = data else { return };
    let (path, mfa, apps) = ROUTES[usize::from(*route) % ROUTES.len()];
    match mode % 3 {
        0 => {
            let req = RequestInfo::new("GET", path).with_authorization(rest);
            match decide(guard(), &req) {
                None | Some(Ok(None)) => {}
                Some(Ok(Some(_))) => panic!("a token no issuer signed was admitted"),
                Some(Err(rejection)) => check_rejection(&rejection, naive_credentials(rest)),
            }
        }
        m => {
            let (header, payload) = if m == 1 {
                (&br#"{"alg":"HS256","typ":"JWT"}"#[..], rest)
            } else {
                match rest.iter().position(|&b| b == 0) {
                    Some(i) => (&rest[..i], &rest[i + 1..]),
                    None => return,
                }
            };
            let token = hmac_token(header, payload);
            let value = format!("Bearer {token}");
            let req = RequestInfo::new("GET", path).with_authorization(value.as_bytes());
            match decide(guard(), &req) {
                None | Some(Ok(None)) => {}
                Some(Ok(Some(principal))) => {
                    admissible(header, payload, principal.kind(), path, mfa, apps);
                }
                Some(Err(rejection)) => check_rejection(&rejection, token.as_bytes()),
            }
        }
    }
}

/// `header.payload.signature`, HS256 with [`HMAC_SECRET`].
pub fn hmac_token(header: &[u8], payload: &[u8]) -> String {
    let message = format!("{}.{}", URL_SAFE_NO_PAD.encode(header), URL_SAFE_NO_PAD.encode(payload));
    let key = jsonwebtoken::EncodingKey::from_secret(HMAC_SECRET);
    let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &key, jsonwebtoken::Algorithm::HS256)
        .expect("HMAC signing");
    format!("{message}.{signature}")
}

/// The differential check: a token the guard admitted, read again by serde_json.
fn admissible(header: &[u8], payload: &[u8], kind: CallerKind, path: &str, mfa: bool, apps: bool) {
    // RFC 7515 §5.2: the header is UTF-8 JSON. (Nesting deeper than serde_json's
    // `Value` limit of 128 is valid JSON the guard may skip, so only then is the
    // independent reading left out.)
    assert!(std::str::from_utf8(header).is_ok(), "admitted with a header that is not UTF-8");
    match serde_json::from_slice::<Value>(header) {
        Ok(h) => {
            assert_eq!(h["alg"], "HS256", "admitted with alg {}", h["alg"]);
            assert!(h.get("crit").is_none() && h.get("b64").is_none_or(|b| b == true), "crit/b64 admitted");
        }
        Err(e) => {
            assert!(e.to_string().contains("recursion limit"), "admitted with a header that is not JSON: {e}")
        }
    }
    let c: Value = serde_json::from_slice(payload).expect("admitted with a payload that is not JSON");
    assert!(c.is_object(), "admitted with a payload that is not an object");
    assert_eq!(c["iss"], HMAC_ISSUER, "admitted for issuer {}", c["iss"]);
    let exp = c["exp"].as_f64().expect("admitted without a numeric exp");
    assert!(exp + 60.0 >= NOW as f64, "admitted an expired token (exp {exp})");
    if let Some(nbf) = c.get("nbf") {
        assert!(nbf.as_f64().expect("numeric nbf") - 60.0 <= NOW as f64, "admitted before nbf");
    }
    assert!(strings(&c["aud"]).iter().any(|a| a == DEV_AUDIENCE), "admitted for audience {}", c["aud"]);
    let idtyp = c.get("idtyp").and_then(Value::as_str);
    let scp_present = match &c["scp"] {
        Value::String(s) => s.split(' ').any(|s| !s.is_empty()),
        Value::Array(a) => !a.is_empty(),
        _ => false,
    };
    match kind {
        CallerKind::User => assert!(idtyp == Some("user") || (idtyp.is_none() && scp_present)),
        CallerKind::App => {
            let oid_is_sub = c.get("oid").is_some() && c["oid"] == c["sub"];
            assert!(
                idtyp == Some("app")
                    || (idtyp.is_none() && !scp_present && c.get("roles").is_some() && oid_is_sub)
            );
            assert!(apps, "an app was admitted on {path}, a user-only route");
        }
        _ => {}
    }
    if mfa && kind == CallerKind::User {
        assert!(
            strings(&c["amr"]).iter().any(|v| v == "mfa"),
            "admitted on {path} without amr mfa: {}",
            c["amr"]
        );
    }
    if path.starts_with("/commerce/") && kind == CallerKind::User {
        let roles = strings(&c["roles"]);
        assert!(
            roles.iter().any(|r| ["AdminAgent", "SalesAgent", "HelpdeskAgent"].contains(&r.as_str())),
            "admitted on {path} with roles {}",
            c["roles"]
        );
    }
}

/// A string or an array of strings, as a list.
fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect(),
        _ => Vec::new(),
    }
}

/// The `authorization` target: `[count, flags, values separated by LF…]`. Up to
/// three `Authorization` values and, when `flags` is odd, a query string after them.
pub fn authorization(data: &[u8]) {
    use mfa_guard_core::{DEFAULT_MAX_HEADER_BYTES, extract_bearer};
    let [count, flags, rest @ ..] = data else { return };
    let count = usize::from(count % 4);
    let mut parts = rest.split(|&b| b == b'\n');
    let values: Vec<&[u8]> = parts.by_ref().take(count).collect();
    let query = if flags % 2 == 1 { parts.next().and_then(|q| std::str::from_utf8(q).ok()) } else { None };
    let max = if flags & 2 == 0 { DEFAULT_MAX_HEADER_BYTES } else { 256 + usize::from(flags >> 2) };
    let req = RequestInfo::new("GET", "/x").with_query(query).with_authorizations(values.iter().copied());
    let token_in_query = query.is_some_and(|q| {
        q.split('&').any(|pair| {
            percent_decode(pair.split_once('=').map_or(pair, |(n, _)| n)).as_deref() == Some(b"access_token")
        })
    });
    match extract_bearer(&req, max) {
        Ok(Some(token)) => {
            assert_eq!(values.len(), 1, "a token from {} headers", values.len());
            assert!(!token_in_query, "a header token accepted alongside one in the query");
            let value = values[0];
            assert!(value.len() <= max);
            let t = token.as_str();
            assert!(!t.is_empty());
            let body = t.trim_end_matches('=');
            assert!(
                !body.is_empty() && body.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
            );
            let trimmed = value.trim_ascii();
            assert!(
                trimmed.len() > 6 && trimmed[..6].eq_ignore_ascii_case(b"bearer"),
                "scheme is not Bearer"
            );
            assert_eq!(naive_credentials(value), t.as_bytes(), "the token is not what follows the scheme");
            assert_eq!(format!("{token:?}"), "Bearer ******", "Debug shows the token");
        }
        Ok(None) => {
            assert!(values.len() <= 1);
            assert!(!token_in_query, "a token in the query was ignored");
            if let [value] = values[..] {
                let scheme = value.trim_ascii().split(|&b| b == b' ' || b == b'\t').next().unwrap_or(b"");
                assert!(!scheme.eq_ignore_ascii_case(b"bearer"), "a Bearer header read as no token");
            }
        }
        Err(refusal) => assert_eq!(refusal.code(), RejectionCode::InvalidRequest),
    }
}

fn percent_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = s.bytes();
    while let Some(b) = bytes.next() {
        if b == b'%' {
            let hi = (bytes.next()? as char).to_digit(16)?;
            let lo = (bytes.next()? as char).to_digit(16)?;
            out.push((hi * 16 + lo) as u8);
        } else {
            out.push(b);
        }
    }
    Some(out)
}

/// The `jwks` target: any document read as a JWKS. What is kept must be usable
/// and consistent: at most 100 keys, distinct kids, `fits` true only within the
/// key's family, and no key verifies a one-byte signature.
pub fn jwks(data: &[u8]) {
    let Ok(set) = KeySet::from_json(data) else { return };
    assert!((1..=mfa_guard_core::keys::MAX_KEYS).contains(&set.len()));
    let mut kids = Vec::new();
    for key in set.iter() {
        if let Some(kid) = key.kid() {
            assert!(!kids.contains(&kid), "two keys with kid {kid:?}");
            kids.push(kid);
            let found = set.find(Some(kid), Algorithm::RS256).expect("find by kid");
            assert_eq!(found.kid(), Some(kid));
        }
        for alg in Algorithm::ALL {
            if key.fits(alg).is_ok() {
                assert_eq!(alg.family(), key.family(), "{alg} fits a {:?} key", key.family());
            }
            assert!(!key.verify(alg, b"message", b"s"), "a one-byte signature verified");
        }
        assert_ne!(key.family(), mfa_guard_core::KeyFamily::Hmac, "a JWKS yielded a secret");
    }
}

/// The `config` target: any text read as a configuration. A file that parses has
/// a policy; a guard built from it (with a static issuer of ours when it names
/// none) decides requests without panicking and answers well-formed rejections.
pub fn config(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let config = match Config::from_toml_str(text, "fuzz.toml") {
        Ok(c) => c,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    config.policy().expect("a configuration that parsed has a policy");
    let _ = config.remote_options();
    if config.has_issuers() {
        // Files named by `jwks_file` would be read from this machine: never build
        // those (a key written with escapes could hide the name, hence the `\`).
        if !text.contains("jwks_file") && !text.contains('\\') {
            let _ = config.builder().map(|b| b.build());
        }
        return;
    }
    let Ok(builder) = config.builder() else { return };
    let Ok(guard) = builder
        .verifier(|v| {
            v.issuer(RSA_ISSUER).keys(rsa_keys()).audience(DEV_AUDIENCE).clock(ManualClock::new(NOW))
        })
        .build()
    else {
        return;
    };
    let token = config_token();
    let value = format!("Bearer {token}");
    for (path, _, _) in ROUTES {
        for auth in [Some(value.as_bytes()), None] {
            let mut req = RequestInfo::new("GET", path);
            if let Some(a) = auth {
                req = req.with_authorization(a);
            }
            if let Some(Err(rejection)) = decide(&guard, &req) {
                check_rejection(&rejection, token.as_bytes());
            }
        }
    }
}

fn config_token() -> &'static str {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        let mut claims = rsa_issuer().user().at(&ManualClock::new(NOW)).claims();
        claims["iss"] = json!(format!("https://sts.windows.net/{DEV_TENANT}/"));
        rsa_issuer()
            .sign_with_header(&json!({"alg": "RS256", "kid": KID, "typ": "JWT"}), &claims)
            .expect("sign")
    })
}

/// The seed corpus: `(target, file name, bytes)`. Written by the ignored test
/// `write_seed_corpus` below; small and realistic, so the fuzzers start at the
/// shapes real traffic has.
pub fn seeds() -> Vec<(&'static str, String, Vec<u8>)> {
    let mut out = Vec::new();
    let clock = ManualClock::new(NOW);
    let i = rsa_issuer();
    let kid_header = json!({"alg": "RS256", "kid": KID, "typ": "JWT"});
    let rsa = |spec: mfa_guard_dev::TokenSpec<'_>| {
        i.sign_with_header(&kid_header, &spec.at(&clock).claims()).unwrap()
    };
    let tokens = [
        ("user-mfa", rsa(i.user())),
        ("user-no-mfa", rsa(i.user().mfa(false))),
        ("app", rsa(i.app())),
        ("expired", rsa(i.user().claim("exp", json!(NOW - 7200)))),
        (
            "alg-none",
            format!(
                "{}.{}.",
                URL_SAFE_NO_PAD.encode(r#"{"alg":"none"}"#),
                URL_SAFE_NO_PAD.encode(i.user().at(&clock).claims().to_string())
            ),
        ),
    ];
    for (n, (name, token)) in tokens.iter().enumerate() {
        let mut bytes = vec![0, (n % ROUTES.len()) as u8 + 2];
        bytes.extend_from_slice(format!("Bearer {token}").as_bytes());
        out.push(("token", format!("seed-header-{name}"), bytes));
        out.push((
            "authorization",
            format!("seed-{name}"),
            [&[1u8, 0][..], format!("Bearer {token}").as_bytes()].concat(),
        ));
    }
    let hmac_claims = |spec: mfa_guard_dev::TokenSpec<'_>| {
        let mut c = spec.at(&clock).claims();
        c["iss"] = json!(HMAC_ISSUER);
        c.to_string().into_bytes()
    };
    let payloads = [
        ("user-mfa", hmac_claims(i.user())),
        ("user-no-mfa", hmac_claims(i.user().mfa(false))),
        ("app", hmac_claims(i.app())),
        ("amr-string", hmac_claims(i.user().claim("amr", json!("mfa")))),
        (
            "overage",
            hmac_claims(
                i.user().roles(Vec::<String>::new()).claim("_claim_names", json!({"groups": "src1"})),
            ),
        ),
    ];
    for (n, (name, payload)) in payloads.iter().enumerate() {
        out.push(("token", format!("seed-payload-{name}"), [&[1u8, 2 + n as u8][..], payload].concat()));
    }
    out.push((
        "token",
        "seed-header-and-payload".into(),
        [&[2u8, 2][..], br#"{"alg":"HS256","kid":"x","typ":"at+jwt"}"#, &[0], &payloads[0].1].concat(),
    ));
    for (name, bytes) in [
        ("two-headers", b"\x02\x00Bearer a.b.c\nBasic dXNlcjpwYXNz".to_vec()),
        ("query", b"\x01\x01Bearer a.b.c\nx=1&access%5Ftoken=a.b.c".to_vec()),
        ("lowercase-tab", b"\x01\x00  bearer\ta.b.c  ".to_vec()),
    ] {
        out.push(("authorization", format!("seed-{name}"), bytes));
    }
    out.push(("jwks", "seed-dev-rsa".into(), i.jwks_json().as_bytes().to_vec()));
    out.push((
        "jwks",
        "seed-mixed".into(),
        json!({"keys": [
            {"kty": "EC", "crv": "P-256", "kid": "ec", "use": "sig", "alg": "ES256",
             "x": "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU", "y": "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
            {"kty": "OKP", "crv": "Ed25519", "kid": "ed", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"},
            {"kty": "oct", "kid": "secret", "k": "c2VjcmV0"},
            {"kty": "RSA", "kid": "short", "n": "AQAB", "e": "AQAB"}
        ]})
        .to_string()
        .into_bytes(),
    ));
    out.push((
        "config",
        "seed-minimal".into(),
        br#"audiences = ["https://api.partnercenter.microsoft.com"]
"#
        .to_vec(),
    ));
    out.push(("config", "seed-full".into(), FULL_CONFIG.as_bytes().to_vec()));
    out
}

const FULL_CONFIG: &str = r#"audiences = ["https://api.partnercenter.microsoft.com"]
algorithms = ["RS256", "ES256"]
leeway = "60s"
token_cache_capacity = 100
compliance_header = "mfa-compliance"

[keys]
timeout = "300ms"
default_max_age = "2s"
min_max_age = "1s"
max_max_age = "5s"
unknown_kid_cooldown = "1s"

[challenge]
style = "step-up"
acr_values = "c1"

[mfa]
amr = ["mfa", "ngcmfa"]
max_age = "1h"

[roles.AdminAgent]
app_roles = ["AdminAgent"]
groups = ["0e9f5d2c-1111-4444-8888-123456789abc"]

[roles.Auditor]
scopes = ["Audit.Read"]

[policy]
preset = "partner-center"
default_mode = "enforce"

[[policy.routes]]
path = "/reports/*"
methods = ["GET"]
access = "mfa"
callers = "users"
roles = ["AdminAgent", "Auditor"]
name = "reports"
mode = "report-only"
enforce_from = "2027-03-01T00:00:00Z"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    /// Every committed input (seeds, and regressions added after a crash) replays
    /// through its target without a failure.
    #[test]
    fn the_committed_corpus_replays() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
        type Target = fn(&[u8]);
        let targets: [(&str, Target); 4] =
            [("token", token), ("authorization", authorization), ("jwks", jwks), ("config", config)];
        for (target, run) in targets {
            let Ok(dir) = std::fs::read_dir(root.join(target)) else { continue };
            for entry in dir {
                let path = entry.unwrap().path();
                if path.file_name().is_some_and(|n| n.to_string_lossy().starts_with("seed-")) {
                    run(&std::fs::read(&path).unwrap());
                }
            }
        }
    }

    #[test]
    fn seeds_reach_the_verdicts_they_are_for() {
        // An HMAC-signed user with MFA is admitted on an MFA route: the differential
        // checks of mode 1 are reached, not only the refusals.
        let payload = seeds().into_iter().find(|(_, n, _)| n == "seed-payload-user-mfa").unwrap().2;
        let signed = hmac_token(br#"{"alg":"HS256","typ":"JWT"}"#, &payload[2..]);
        let value = format!("Bearer {signed}");
        let req = RequestInfo::new("GET", "/commerce/customers").with_authorization(value.as_bytes());
        assert!(matches!(decide(guard(), &req), Some(Ok(Some(_)))));
        token(&payload);
    }
}
