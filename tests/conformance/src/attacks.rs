//! The adversarial table (issue 9): every attack on token, header and path that a
//! hostile client can send, each with the exact answer the guard must give, run
//! against every example server over real sockets.
//!
//! Tokens are validly signed by the fixture issuer's real key wherever that makes
//! the attack stronger (a duplicate `amr`, a `crit` header, an `exp` beyond range,
//! a hostile `tid`): they are then refused for what they attack and nothing else.
//! Each refusal names the rule that refused it, checked through `because` (a phrase
//! of the description), so a case cannot pass by being refused for another reason.
//!
//! Two kinds of rows are not attacks:
//!
//! - **controls** (`Expect::Ok`) show a refusal came from the attack and not from a
//!   harmless neighbour: the same token with `jku` but signed by the real key is
//!   admitted (the header is ignored, not merely refused), `m\u0066a` is `mfa`;
//! - **server-level** rows (`server_level`) carry bytes that HTTP/1.1 itself forbids
//!   (NUL, CR, LF, DEL and other controls in a header value, obs-fold, whitespace
//!   before the colon) or exceed what a server reads at all (a 1 MiB header, 200
//!   headers). hyper and actix refuse those before any middleware runs, each in its
//!   own way: both answer `400 Bad Request` with an empty body to the forbidden
//!   bytes; to the oversized ones hyper answers `431 Request Header Fields Too
//!   Large` and actix resets the connection. Those answers are the servers', not the
//!   guard's, so the table asserts only that the answer is a 4xx (or the connection
//!   is closed with no answer), never a 2xx or 5xx, and that the server answers
//!   `/health` afterwards. (Bytes 0x80–0xFF are legal obs-text: they reach the guard,
//!   which refuses them itself with `400 invalid_request`.)

use std::fmt::Write as _;

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use mfa_guard_core::rejection::parse_challenge;
use mfa_guard_dev::{DEV_AUDIENCE, DEV_TENANT};
use serde_json::{Value, json};

use crate::cases::{Auth, Case, Expect, Target, Www, comparable};
use crate::fixture::{Style, issuer};
use crate::forge::{
    ForeignKeys, attacker, attacker_signed, b64, claims, claims_with, claims_with_raw, header, kid,
    public_key_forms, sign_bytes, signed, signed_as, signed_claims, signed_header,
};
use crate::http1::{RawResponse, request};

/// The route attacks are aimed at: MFA, users only, agent roles.
pub const MFA_PATH: &str = "/commerce/customers";

const UNAUTHORIZED: &str = "HTTP/1.1 401 Unauthorized";
const MFA_LINE: &str = "HTTP/1.1 401 Unauthorized - MFA required";
const BAD_REQUEST: &str = "HTTP/1.1 400 Bad Request";
const FORBIDDEN: &str = "HTTP/1.1 403 Forbidden";

/// One row of the table.
#[derive(Debug, Clone)]
pub struct Attack {
    /// What is sent and the answer expected (status line, challenge, code).
    pub case: Case,
    /// A phrase the refusal's description must contain: which rule refused.
    pub because: Option<&'static str>,
    /// Refused by the HTTP server before the guard runs (see the module docs).
    pub server_level: bool,
    /// Strings that must never come back in the answer (token segments, attacker text).
    pub secrets: Vec<String>,
    /// Answers that differ by server, by target name, replacing `case.expect` there:
    /// for paths the routers themselves read differently (actix decodes `%63`, axum
    /// does not), where the guard follows each router. Such rows are not compared
    /// across servers.
    pub per_target: Vec<(&'static str, Expect)>,
}

fn bearer(token: &str) -> Vec<u8> {
    format!("Authorization: Bearer {token}").into_bytes()
}

fn segments_of(token: &str) -> Vec<String> {
    token.split('.').filter(|s| s.len() >= 16).map(str::to_owned).collect()
}

fn row(
    name: String,
    path: &str,
    lines: Vec<Vec<u8>>,
    expect: Expect,
    because: Option<&'static str>,
) -> Attack {
    Attack {
        case: Case {
            name,
            style: Style::PartnerCenter,
            method: "GET",
            target: path.to_owned(),
            auth: Auth::Raw(lines),
            expect,
            compliance: None,
        },
        because,
        server_level: false,
        secrets: Vec::new(),
        per_target: Vec::new(),
    }
}

/// `401 invalid_token` for this token on [`MFA_PATH`], refused because of `because`.
fn invalid(name: impl Into<String>, token: &str, because: &'static str) -> Attack {
    let expect = Expect::Refused {
        status_line: UNAUTHORIZED,
        www: Www::InvalidTokenWithDescription,
        code: "invalid_token",
    };
    let mut a = row(name.into(), MFA_PATH, vec![bearer(token)], expect, Some(because));
    a.secrets = segments_of(token);
    a
}

/// `401 Unauthorized - MFA required`: a valid token whose `amr` holds no `mfa`.
fn mfa_required(name: impl Into<String>, path: &str, token: &str) -> Attack {
    let expect = Expect::Refused {
        status_line: MFA_LINE,
        www: Www::Exact(r#"Bearer error="invalid_token""#),
        code: "mfa_required",
    };
    let mut a = row(name.into(), path, vec![bearer(token)], expect, None);
    a.secrets = segments_of(token);
    a
}

/// `400 invalid_request` for these header lines, refused because of `because`.
fn bad_request(name: impl Into<String>, lines: Vec<Vec<u8>>, because: &'static str) -> Attack {
    let expect = Expect::Refused {
        status_line: BAD_REQUEST,
        www: Www::Exact(r#"Bearer error="invalid_request""#),
        code: "invalid_request",
    };
    row(name.into(), MFA_PATH, lines, expect, Some(because))
}

/// A control: admitted as a user on [`MFA_PATH`].
fn control(name: impl Into<String>, token: &str) -> Attack {
    let expect = Expect::Ok { area: "customers", kind: Some("user"), report_only: None };
    row(format!("control: {}", name.into()), MFA_PATH, vec![bearer(token)], expect, None)
}

/// Refused by the HTTP server itself (see the module docs).
fn server_level(name: impl Into<String>, lines: Vec<Vec<u8>>) -> Attack {
    let expect = Expect::Refused { status_line: "4xx", www: Www::Absent, code: "" };
    let mut a = row(name.into(), MFA_PATH, lines, expect, None);
    a.server_level = true;
    a
}

fn token_issuer() -> String {
    issuer().token_issuer()
}

fn with(base: Value, extra: Value) -> Value {
    let mut out = base;
    for (k, v) in extra.as_object().expect("an object of extra members") {
        out[k] = v.clone();
    }
    out
}

/// The whole table, in sections that follow the issue's list. `canary` is a URL
/// put in `jku`/`x5u` headers (the caller checks nothing ever fetches it).
pub fn table(canary: &str, foreign: &ForeignKeys) -> Vec<Attack> {
    let mut t = Vec::new();
    alg_none(&mut t);
    hmac_with_the_public_key(&mut t);
    algorithm_swaps(&mut t, foreign);
    signatures(&mut t);
    key_carrying_headers(&mut t, canary);
    kid_injection(&mut t);
    crit_b64_typ(&mut t);
    duplicate_keys(&mut t);
    deep_and_huge_json(&mut t);
    non_utf8(&mut t);
    base64_variants(&mut t);
    segment_counts(&mut t);
    time_extremes(&mut t);
    aud_iss_confusion(&mut t);
    amr_confusion(&mut t);
    issuer_template_injection(&mut t);
    caller_kind_confusion(&mut t);
    authorization_headers(&mut t);
    header_bytes(&mut t);
    path_readings(&mut t);
    t
}

fn alg_none(t: &mut Vec<Attack>) {
    let payload = claims().to_string();
    for none in ["none", "None", "NONE", "nOnE", "NoNe"] {
        for with_kid in [false, true] {
            let h = if with_kid { json!({"alg": none, "kid": kid()}) } else { json!({"alg": none}) };
            let unsigned = format!("{}.{}.", b64(h.to_string()), b64(&payload));
            t.push(invalid(
                format!("alg {none} (kid {with_kid}), empty signature"),
                &unsigned,
                "no signature",
            ));
            // The same with a signature: the real key's RS256 signature over the
            // message, so only `alg` can be what refuses it.
            let real = signed(h.to_string().as_bytes(), payload.as_bytes());
            t.push(invalid(format!("alg {none} (kid {with_kid}), real signature"), &real, "alg none"));
        }
    }
    for (name, alg) in
        [("alg empty", json!("")), ("alg 'none '", json!("none ")), ("alg 'n0ne'", json!("n0ne"))]
    {
        let token = signed_header(&json!({"alg": alg, "kid": kid()}));
        t.push(invalid(name, &token, "is not supported"));
    }
}

fn hmac_with_the_public_key(t: &mut Vec<Attack>) {
    for (form, secret) in public_key_forms() {
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            for with_kid in [true, false] {
                let mut h = Header::new(alg);
                h.kid = with_kid.then(|| kid().to_owned());
                let token =
                    jsonwebtoken::encode(&h, &claims(), &EncodingKey::from_secret(&secret)).expect("sign");
                let because = match alg {
                    Algorithm::HS256 => "algorithm HS256 is not allowed",
                    Algorithm::HS384 => "algorithm HS384 is not allowed",
                    _ => "algorithm HS512 is not allowed",
                };
                t.push(invalid(format!("{alg:?} keyed with the {form} (kid {with_kid})"), &token, because));
            }
        }
    }
}

fn algorithm_swaps(t: &mut Vec<Attack>, foreign: &ForeignKeys) {
    let payload = claims().to_string();
    // The issuer's own RSA key, another RSA algorithm: the JWK says RS256.
    for alg in [Algorithm::RS384, Algorithm::RS512, Algorithm::PS256, Algorithm::PS384, Algorithm::PS512] {
        let h = json!({"alg": format!("{alg:?}"), "kid": kid(), "typ": "JWT"}).to_string();
        let token = signed_as(h.as_bytes(), payload.as_bytes(), alg);
        t.push(invalid(format!("{alg:?} by the issuer's own key"), &token, "differs from its key's (RS256)"));
    }
    // Keys of another type under the issuer's kid, and with no kid.
    for alg in [Algorithm::ES256, Algorithm::ES384, Algorithm::EdDSA] {
        let name = format!("{alg:?}");
        let h = json!({"alg": name, "kid": kid(), "typ": "JWT"}).to_string();
        let token = sign_bytes(h.as_bytes(), payload.as_bytes(), foreign.get(alg), alg);
        t.push(invalid(format!("{name} by another key type under the issuer's kid"), &token, "does not fit"));
        let h = json!({"alg": name, "typ": "JWT"}).to_string();
        let token = sign_bytes(h.as_bytes(), payload.as_bytes(), foreign.get(alg), alg);
        t.push(invalid(format!("{name} by another key type, no kid"), &token, "no key for its algorithm"));
    }
    // An ES256 signature presented as RS256.
    let h = header().to_string();
    let es = sign_bytes(h.as_bytes(), payload.as_bytes(), foreign.get(Algorithm::ES256), Algorithm::ES256);
    t.push(invalid("RS256 header, ES256 signature", &es, "does not verify"));
    for (name, alg, because) in [
        ("alg in lower case", json!("rs256"), "is not supported"),
        ("alg with a space", json!("RS256 "), "is not supported"),
        ("alg ES512", json!("ES512"), "is not supported"),
        ("alg RSA-OAEP", json!("RSA-OAEP"), "is not supported"),
        ("alg a number", json!(256), "`alg` must be a string"),
        ("alg an array", json!(["RS256"]), "`alg` must be a string"),
        ("alg null", json!(null), "`alg` must be a string"),
    ] {
        t.push(invalid(name, &signed_header(&json!({"alg": alg, "kid": kid()})), because));
    }
    t.push(invalid("no alg", &signed_header(&json!({"kid": kid()})), "no alg"));
}

fn signatures(t: &mut Vec<Attack>) {
    let good = signed_claims(&claims());
    let (message, sig) = good.rsplit_once('.').expect("three segments");
    t.push(invalid("signature stripped", &format!("{message}."), "no signature"));
    t.push(invalid("signature segment removed", message, "has 2"));
    t.push(invalid(
        "signature cut by one character",
        &format!("{message}.{}", &sig[..sig.len() - 1]),
        "base64url",
    ));
    // Whole bytes cut and re-encoded: canonical base64url, a short signature.
    let sig_bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(sig).expect("b64");
    for (name, keep) in [("signature cut by three bytes", 253), ("signature cut in half", 128)] {
        t.push(invalid(name, &format!("{message}.{}", b64(&sig_bytes[..keep])), "does not verify"));
    }
    t.push(invalid("signature of zeros", &format!("{message}.{}", b64([0u8; 256])), "does not verify"));
    t.push(invalid("signature of one byte", &format!("{message}.AA"), "does not verify"));
    t.push(invalid("signature doubled", &format!("{message}.{sig}{sig}"), "does not verify"));
    let other = signed_claims(&claims_with("upn", json!("someone-else@dev.example")));
    let other_sig = other.rsplit_once('.').expect("three segments").1;
    t.push(invalid("signature of another token", &format!("{message}.{other_sig}"), "does not verify"));
    // A no-MFA token re-dressed with MFA, keeping its signature.
    let no_mfa = signed_claims(&claims_with("amr", json!(["pwd"])));
    let (_, no_mfa_sig) = no_mfa.rsplit_once('.').expect("three segments");
    t.push(invalid(
        "amr upgraded to mfa, signature kept",
        &format!("{message}.{no_mfa_sig}"),
        "does not verify",
    ));
    let h = header().to_string();
    let forged = attacker_signed(h.as_bytes(), claims().to_string().as_bytes());
    t.push(invalid("signed by another key under the issuer's kid", &forged, "does not verify"));
    let h = json!({"alg": "RS256", "typ": "JWT"}).to_string();
    let forged = attacker_signed(h.as_bytes(), claims().to_string().as_bytes());
    t.push(invalid("signed by another key, no kid", &forged, "does not verify"));
}

fn key_carrying_headers(t: &mut Vec<Attack>, canary: &str) {
    let attacker_jwk: Value =
        serde_json::from_str::<Value>(attacker().jwks_json()).expect("JWKS")["keys"][0].clone();
    let attacker_kid = attacker().kid();
    let x5c =
        json!([base64::engine::general_purpose::STANDARD.encode(b"not a certificate, but an attacker's")]);
    let payload = claims().to_string();
    let cases: Vec<(&str, Value, &'static str)> = vec![
        (
            "jku to the attacker, attacker kid",
            json!({"jku": canary, "kid": attacker_kid}),
            "no signing key with kid",
        ),
        ("jku to the attacker, no kid", json!({"jku": canary}), "does not verify"),
        ("jku to the attacker, issuer kid", json!({"jku": canary, "kid": kid()}), "does not verify"),
        (
            "x5u to the attacker, attacker kid",
            json!({"x5u": canary, "kid": attacker_kid}),
            "no signing key with kid",
        ),
        ("x5u to the attacker, issuer kid", json!({"x5u": canary, "kid": kid()}), "does not verify"),
        ("embedded jwk, no kid", json!({"jwk": attacker_jwk}), "does not verify"),
        (
            "embedded jwk, attacker kid",
            json!({"jwk": attacker_jwk, "kid": attacker_kid}),
            "no signing key with kid",
        ),
        ("embedded jwk, issuer kid", json!({"jwk": attacker_jwk, "kid": kid()}), "does not verify"),
        ("x5c, issuer kid", json!({"x5c": x5c, "kid": kid()}), "does not verify"),
        (
            "jku, x5u, jwk and x5c together",
            json!({"jku": canary, "x5u": canary, "jwk": attacker_jwk, "x5c": x5c, "kid": kid()}),
            "does not verify",
        ),
    ];
    for (name, extra, because) in cases {
        let h = with(json!({"alg": "RS256", "typ": "JWT"}), extra.clone()).to_string();
        t.push(invalid(
            format!("{name}, signed by the attacker"),
            &attacker_signed(h.as_bytes(), payload.as_bytes()),
            because,
        ));
    }
    // Controls: the same headers on a token the issuer really signed are ignored.
    for (name, extra) in [
        ("jku", json!({"jku": canary})),
        ("x5u", json!({"x5u": canary})),
        ("jwk", json!({"jwk": attacker_jwk})),
        ("x5c", json!({"x5c": x5c})),
    ] {
        t.push(control(format!("{name} on a real token is ignored"), &signed_header(&with(header(), extra))));
    }
}

fn kid_injection(t: &mut Vec<Attack>) {
    for (name, k) in [
        ("path traversal", "../../../../../../etc/passwd"),
        ("relative path", "../keys/other.json"),
        ("URL", "http://127.0.0.1:1/keys"),
        ("SQL quote", "' OR '1'='1"),
        ("SQL statement", "1; DROP TABLE keys; --"),
        ("NUL", "kid\u{0}"),
        ("right-to-left override", "\u{202e}dik"),
        ("CRLF", "kid\r\nX-Injected: 1"),
        ("percent-encoded", "%2e%2e%2fetc%2fpasswd"),
        ("empty", ""),
    ] {
        t.push(invalid(
            format!("kid {name}"),
            &signed_header(&json!({"alg": "RS256", "kid": k})),
            "no signing key with kid",
        ));
    }
    let near = format!("{} ", kid());
    t.push(invalid(
        "kid with a trailing space",
        &signed_header(&json!({"alg": "RS256", "kid": near})),
        "no signing key with kid",
    ));
    let upper = kid().to_ascii_uppercase();
    t.push(invalid(
        "kid in upper case",
        &signed_header(&json!({"alg": "RS256", "kid": upper})),
        "no signing key with kid",
    ));
    t.push(invalid(
        "kid of 257 bytes",
        &signed_header(&json!({"alg": "RS256", "kid": "k".repeat(257)})),
        "longer than 256 bytes",
    ));
    t.push(invalid(
        "kid of 10 KiB",
        &signed_header(&json!({"alg": "RS256", "kid": "k".repeat(10 * 1024)})),
        "longer than 256 bytes",
    ));
    for (name, k) in [
        ("number", json!(5)),
        ("object", json!({"kid": kid()})),
        ("array", json!([kid()])),
        ("null", json!(null)),
        ("boolean", json!(true)),
    ] {
        t.push(invalid(
            format!("kid a {name}"),
            &signed_header(&json!({"alg": "RS256", "kid": k})),
            "`kid` must be a string",
        ));
    }
}

fn crit_b64_typ(t: &mut Vec<Attack>) {
    let k = kid();
    let payload = claims().to_string();
    let raw = |h: String| signed(h.as_bytes(), payload.as_bytes());
    for (name, h, because) in [
        ("crit naming exp", format!(r#"{{"alg":"RS256","kid":"{k}","crit":["exp"]}}"#), "(crit)"),
        (
            "crit naming an unknown extension",
            format!(r#"{{"alg":"RS256","kid":"{k}","crit":["urn:x:unknown"],"urn:x:unknown":1}}"#),
            "(crit)",
        ),
        ("crit empty", format!(r#"{{"alg":"RS256","kid":"{k}","crit":[]}}"#), "(crit)"),
        ("crit a string", format!(r#"{{"alg":"RS256","kid":"{k}","crit":"exp"}}"#), "(crit)"),
        (
            "crit naming b64, b64 true",
            format!(r#"{{"alg":"RS256","kid":"{k}","crit":["b64"],"b64":true}}"#),
            "(crit)",
        ),
        ("b64 false", format!(r#"{{"alg":"RS256","kid":"{k}","b64":false}}"#), "b64: false"),
        (
            "b64 false after crit b64",
            format!(r#"{{"alg":"RS256","kid":"{k}","b64":false,"crit":["b64"]}}"#),
            "b64: false",
        ),
        (
            "b64 a string",
            format!(r#"{{"alg":"RS256","kid":"{k}","b64":"false"}}"#),
            "`b64` must be a boolean",
        ),
        ("b64 a number", format!(r#"{{"alg":"RS256","kid":"{k}","b64":0}}"#), "`b64` must be a boolean"),
        ("typ dpop+jwt", format!(r#"{{"alg":"RS256","kid":"{k}","typ":"dpop+jwt"}}"#), "`typ`"),
        ("typ logout+jwt", format!(r#"{{"alg":"RS256","kid":"{k}","typ":"logout+jwt"}}"#), "`typ`"),
        ("typ with a space", format!(r#"{{"alg":"RS256","kid":"{k}","typ":"JWT "}}"#), "`typ`"),
        ("typ a number", format!(r#"{{"alg":"RS256","kid":"{k}","typ":1}}"#), "`typ`"),
        ("cty JWT (nested token)", format!(r#"{{"alg":"RS256","kid":"{k}","cty":"JWT"}}"#), "(cty)"),
        ("enc in a signed token", format!(r#"{{"alg":"RS256","kid":"{k}","enc":"A256GCM"}}"#), "(JWE)"),
        ("zip in a signed token", format!(r#"{{"alg":"RS256","kid":"{k}","zip":"DEF"}}"#), "(JWE)"),
    ] {
        t.push(invalid(name, &raw(h), because));
    }
    // b64:false with the payload really unencoded (RFC 7797): the JWS then has the
    // raw JSON as its middle segment, which is not base64url at all.
    let h = format!(r#"{{"alg":"RS256","kid":"{k}","b64":false,"crit":["b64"]}}"#);
    let message = format!("{}.{payload}", b64(&h));
    let sig = jsonwebtoken::crypto::sign(
        message.as_bytes(),
        &EncodingKey::from_rsa_pem(issuer().private_key_pem().as_bytes()).expect("key"),
        Algorithm::RS256,
    )
    .expect("sign");
    t.push(bad_request(
        "b64 false with a raw JSON payload",
        vec![bearer(&format!("{message}.{sig}"))],
        "b64token",
    ));
}

fn duplicate_keys(t: &mut Vec<Attack>) {
    let k = kid();
    let payload = claims().to_string();
    for (name, h) in [
        ("alg twice, RS256 then none", format!(r#"{{"alg":"RS256","alg":"none","kid":"{k}"}}"#)),
        ("alg twice, none then RS256", format!(r#"{{"alg":"none","alg":"RS256","kid":"{k}"}}"#)),
        ("kid twice", format!(r#"{{"alg":"RS256","kid":"other","kid":"{k}"}}"#)),
        ("typ twice, same value", format!(r#"{{"alg":"RS256","kid":"{k}","typ":"JWT","typ":"JWT"}}"#)),
        ("jku twice", format!(r#"{{"alg":"RS256","kid":"{k}","jku":"a","jku":"b"}}"#)),
        ("alg twice, one escaped", format!(r#"{{"alg":"RS256","\u0061lg":"none","kid":"{k}"}}"#)),
    ] {
        t.push(invalid(
            format!("header {name}"),
            &signed(h.as_bytes(), payload.as_bytes()),
            "appears more than once",
        ));
    }
    let h = header().to_string();
    let body = claims_with("amr", Value::Null).to_string();
    let rest = &body[1..];
    let iss = token_issuer();
    for (name, first) in [
        ("amr twice, pwd then mfa", r#""amr":["pwd"],"amr":["mfa"],"#.to_owned()),
        ("amr twice, mfa then pwd", r#""amr":["mfa"],"amr":["pwd"],"#.to_owned()),
        ("amr twice, one escaped", r#""amr":["pwd"],"\u0061mr":["mfa"],"#.to_owned()),
        ("aud twice", format!(r#""amr":["mfa"],"aud":"https://evil.example","aud":"{DEV_AUDIENCE}","#)),
        ("iss twice", format!(r#""amr":["mfa"],"iss":"https://evil.example/","iss":"{iss}","#)),
        ("exp twice", r#""amr":["mfa"],"exp":1,"exp":99999999999,"#.to_owned()),
        ("idtyp twice", r#""amr":["mfa"],"idtyp":"user","idtyp":"app","#.to_owned()),
        ("an unknown claim twice", r#""amr":["mfa"],"foo":1,"foo":2,"#.to_owned()),
    ] {
        // exp, aud and iss already appear in `rest`: the ones written here are extra.
        let p = format!("{{{first}{rest}");
        t.push(invalid(
            format!("payload {name}"),
            &signed(h.as_bytes(), p.as_bytes()),
            "appears more than once",
        ));
    }
    // A name twice is refused, and the name, the attacker's text, is never echoed:
    // not into error_description (where it could add challenge parameters) and not
    // into the body's detail. JSON escapes: `\"` is a quote, `\u00e9` is e-acute.
    for (name, hostile) in [
        ("quotes, commas, error= and non-ASCII", r#"zz-injected\", error=\"x\", realm=\"\u00e9"#),
        ("CR LF and a header line", r#"zz-injected\r\nSet-Cookie: s=1"#),
        ("of 200 characters", &format!("zz-injected{}", "n".repeat(189))),
    ] {
        let header = format!(r#"{{"alg":"RS256","kid":"{k}","{hostile}":1,"{hostile}":2}}"#);
        let mut a = invalid(
            format!("header with a hostile name twice: {name}"),
            &signed(header.as_bytes(), payload.as_bytes()),
            "header parameter (value not shown) appears more than once",
        );
        a.secrets.push("zz-injected".into());
        t.push(a);
        let p = format!(r#"{{"{hostile}":1,"{hostile}":2,{rest}"#);
        let mut a = invalid(
            format!("payload with a hostile claim name twice: {name}"),
            &signed(h.as_bytes(), p.as_bytes()),
            "claim (value not shown) appears more than once",
        );
        a.secrets.push("zz-injected".into());
        t.push(a);
    }
}

fn deep_and_huge_json(t: &mut Vec<Attack>) {
    let h = header().to_string();
    let deep_array = format!("{}{}", "[".repeat(2000), "]".repeat(2000));
    let p = claims_with_raw("x", &deep_array);
    t.push(invalid(
        "payload with arrays nested 2000 deep",
        &signed(h.as_bytes(), &p),
        "payload is not valid JSON",
    ));
    let deep_object = format!("{}1{}", r#"{"a":"#.repeat(1000), "}".repeat(1000));
    let p = claims_with_raw("x", &deep_object);
    t.push(invalid(
        "payload with objects nested 1000 deep",
        &signed(h.as_bytes(), &p),
        "payload is not valid JSON",
    ));
    let p = claims_with_raw("amr", &deep_array);
    t.push(invalid("amr nested 2000 deep", &signed(h.as_bytes(), &p), "`amr` must be"));
    // Nesting in an ignored header parameter is skipped by serde_json without
    // recursion (so without a depth limit, and without a stack to exhaust): the
    // forged token is refused for its signature, the real one is admitted. Unknown
    // payload claims are kept as values, where serde_json's depth limit of 128
    // refuses them (the payload rows above): both fail safe.
    let deep_header = format!(r#"{{"alg":"RS256","kid":"{}","x":{deep_array}}}"#, kid());
    let forged = attacker_signed(deep_header.as_bytes(), claims().to_string().as_bytes());
    t.push(invalid("header with arrays nested 2000 deep, forged", &forged, "does not verify"));
    t.push(control(
        "arrays nested 2000 deep in an ignored header parameter",
        &signed(deep_header.as_bytes(), claims().to_string().as_bytes()),
    ));
    let mut many = json!({"alg": "RS256", "kid": kid()});
    for i in 0..40 {
        many[format!("p{i}")] = json!(i);
    }
    t.push(invalid("header with 42 parameters", &signed_header(&many), "too many parameters"));
    // Big but under the 16 KiB cap: parsed in full, then refused for its signature.
    let mut big = claims();
    for i in 0..600 {
        big[format!("c{i:04}")] = json!(i);
    }
    let forged = attacker_signed(header().to_string().as_bytes(), big.to_string().as_bytes());
    t.push(invalid("payload with 600 claims, forged", &forged, "does not verify"));
    let long_number = format!("1{}", "0".repeat(9000));
    let p = claims_with_raw("exp", &long_number);
    t.push(invalid("exp with 9001 digits", &signed(h.as_bytes(), &p), "payload is not valid JSON"));
    // Over the cap: refused before any decoding.
    let mut huge = claims();
    huge["pad"] = json!("p".repeat(13_000));
    let token = signed_claims(&huge);
    t.push(bad_request("token over 16 KiB", vec![bearer(&token)], "exceeds 16384 bytes"));
}

fn non_utf8(t: &mut Vec<Attack>) {
    let h = header().to_string();
    let body = claims().to_string();
    let with_bytes = |bytes: &[u8]| {
        let mut p = br#"{"x":""#.to_vec();
        p.extend_from_slice(bytes);
        p.extend_from_slice(b"\",");
        p.extend_from_slice(&body.as_bytes()[1..]);
        p
    };
    for (name, bytes) in [
        ("a 0xFF byte", &b"\xff"[..]),
        ("an overlong '/'", b"\xc0\xaf"),
        ("a CESU-8 surrogate", b"\xed\xa0\x80"),
        ("a truncated sequence", b"\xe2\x82"),
    ] {
        t.push(invalid(
            format!("payload with {name}"),
            &signed(h.as_bytes(), &with_bytes(bytes)),
            "payload is not valid JSON",
        ));
    }
    let p = claims_with_raw("x", r#""\ud800""#);
    t.push(invalid(
        "payload with a lone surrogate escape",
        &signed(h.as_bytes(), &p),
        "payload is not valid JSON",
    ));
    let p = [&b"\xef\xbb\xbf"[..], body.as_bytes()].concat();
    t.push(invalid("payload with a byte-order mark", &signed(h.as_bytes(), &p), "payload is not valid JSON"));
    let utf16: Vec<u8> = body.encode_utf16().flat_map(u16::to_le_bytes).collect();
    t.push(invalid("payload in UTF-16", &signed(h.as_bytes(), &utf16), "payload is not valid JSON"));
    let bad_header = format!(r#"{{"alg":"RS256","kid":"{}","x":"#, kid()).into_bytes();
    let bad_header = [&bad_header[..], b"\"\xfe\"}"].concat();
    t.push(invalid(
        "header with a 0xFE byte",
        &signed(&bad_header, body.as_bytes()),
        "header is not valid JSON",
    ));
}

fn base64_variants(t: &mut Vec<Attack>) {
    let token = signed_claims(&claims());
    let parts: Vec<&str> = token.split('.').collect();
    let standard: Vec<String> = parts
        .iter()
        .map(|p| {
            STANDARD_NO_PAD.encode(base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).expect("b64"))
        })
        .collect();
    assert_ne!(standard.join("."), token, "the standard alphabet must differ for this case to mean anything");
    t.push(invalid("standard base64 alphabet", &standard.join("."), "not unpadded base64url"));
    let sig = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[2]).expect("b64");
    let padded_sig = URL_SAFE.encode(&sig);
    assert!(padded_sig.ends_with('='), "a 256-byte signature pads");
    t.push(invalid(
        "signature with padding",
        &format!("{}.{}.{padded_sig}", parts[0], parts[1]),
        "not unpadded base64url",
    ));
    // A header of 3n+1 bytes pads with "==", which lands in the middle of the token.
    let mut h = header().to_string();
    while h.len() % 3 != 1 {
        h.insert(h.len() - 1, ' ');
    }
    let padded = signed(h.as_bytes(), claims().to_string().as_bytes());
    let (ph, rest) = padded.split_once('.').expect("segments");
    t.push(bad_request(
        "header with padding",
        vec![bearer(&format!("{}.{rest}", URL_SAFE.encode(&h)))],
        "b64token",
    ));
    // Non-canonical trailing bits: same bytes, another spelling.
    let last = ph.chars().last().expect("non-empty");
    let sibling = match last {
        'A' => 'B',
        'Q' => 'R',
        'g' => 'h',
        'w' => 'x',
        other => panic!("a 3n+1-byte header ends in A, Q, g or w, not {other}"),
    };
    let respelled = format!("{}{sibling}.{rest}", &ph[..ph.len() - 1]);
    t.push(invalid("header with non-canonical trailing bits", &respelled, "not unpadded base64url"));
    let spaced = format!("{}. {}.{}", parts[0], parts[1], parts[2]);
    t.push(bad_request("space inside the token", vec![bearer(&spaced)], "b64token"));
    let tabbed = format!("{}.{}\t.{}", parts[0], parts[1], parts[2]);
    t.push(bad_request("tab inside the token", vec![bearer(&tabbed)], "b64token"));
    let percent = format!("{}.{}.{}%3D", parts[0], parts[1], parts[2]);
    t.push(bad_request("percent-encoded character in the token", vec![bearer(&percent)], "b64token"));
    t.push(bad_request("quoted token", vec![bearer(&format!("\"{token}\""))], "b64token"));
}

fn segment_counts(t: &mut Vec<Attack>) {
    let token = signed_claims(&claims());
    let jwe_header = b64(r#"{"alg":"RSA-OAEP","enc":"A256GCM","kid":"k"}"#);
    let jwe = format!(
        "{jwe_header}.{}.{}.{}.{}",
        b64([7u8; 256]),
        b64([1u8; 12]),
        b64(b"ciphertext"),
        b64([2u8; 16])
    );
    t.push(invalid("JWE-shaped (five segments)", &jwe, "five segments"));
    t.push(invalid("a signed token with two more segments", &format!("{token}.a.b"), "five segments"));
    t.push(invalid("four segments", &format!("{token}.x"), "has 4"));
    t.push(invalid("six segments", &format!("{token}.a.b.c"), "has 6"));
    t.push(invalid("one segment", token.split('.').next().expect("header"), "has 1"));
    let (_, p, s) = {
        let mut it = token.split('.');
        (it.next(), it.next().expect("payload"), it.next().expect("signature"))
    };
    t.push(invalid("empty header", &format!(".{p}.{s}"), "empty header or payload"));
    t.push(invalid(
        "empty payload",
        &format!("{}..{s}", token.split('.').next().expect("header")),
        "empty header or payload",
    ));
    t.push(invalid("only dots", "..", "empty header or payload"));
    t.push(invalid("leading dot", &format!(".{token}"), "has 4"));
}

fn time_extremes(t: &mut Vec<Attack>) {
    let h = header().to_string();
    let raw = |name: &str, value: &str| signed(h.as_bytes(), &claims_with_raw(name, value));
    let range = "a NumericDate";
    for (name, value, because) in [
        ("exp -1", "-1", "has expired"),
        ("exp 0", "0", "has expired"),
        ("exp -0.5", "-0.5", "has expired"),
        ("exp before year 1", "-62135596801", range),
        ("exp i64::MIN", "-9223372036854775808", range),
        ("exp i64::MAX", "9223372036854775807", range),
        ("exp u64::MAX", "18446744073709551615", range),
        ("exp beyond u64", "18446744073709551616", range),
        ("exp 1e300", "1e300", range),
        ("exp -1e300", "-1e300", range),
        ("exp 1e400", "1e400", "payload is not valid JSON"),
        ("exp year 10000", "253402300800", range),
        ("exp a string", r#""9999999999""#, range),
        ("exp null", "null", range),
        ("exp true", "true", range),
        ("exp an array", "[9999999999]", range),
        ("exp an object", r#"{"exp":9999999999}"#, range),
        ("nbf year 9999", "253402300799", "not valid yet"),
        ("nbf beyond u64", "18446744073709551616", range),
        ("nbf a string", r#""0""#, range),
        ("nbf -1e30", "-1e30", range),
        ("iat beyond u64", "18446744073709551616", range),
        ("iat a string", r#""now""#, range),
        ("iat -1e30", "-1e30", range),
        ("iat null", "null", range),
    ] {
        let claim = name.split(' ').next().expect("claim name");
        t.push(invalid(name, &raw(claim, value), because));
    }
    t.push(invalid("no exp", &signed_claims(&claims_with("exp", Value::Null)), "no exp claim"));
    // Well-formed times that are still wrong. The fixture allows 60 s of leeway and
    // lifetimes (exp - iat) up to MAX_TOKEN_LIFETIME, 24 h.
    let now = claims()["iat"].as_i64().expect("iat");
    let future = "issued in the future";
    let too_long = "is longer than the 86400 s allowed here";
    for (name, extra, because) in [
        ("iat an hour ahead", json!({"iat": now + 3600}), future),
        ("iat year 9999, exp in an hour", json!({"iat": 253_402_300_799i64}), future),
        ("lifetime of 25 hours (limit 24)", json!({"exp": now + 25 * 3600}), too_long),
        ("iat a month ago, exp in an hour", json!({"iat": now - 30 * 86_400}), too_long),
    ] {
        t.push(invalid(name, &signed_claims(&with(claims(), extra)), because));
    }
    t.push(invalid(
        "no iat (a lifetime limit is set)",
        &signed_claims(&claims_with("iat", Value::Null)),
        "no iat claim, so its lifetime cannot be checked",
    ));
}

fn aud_iss_confusion(t: &mut Vec<Attack>) {
    let aud_type = "`aud` must be a string or an array of strings";
    for (name, aud) in [
        ("a number", json!(5)),
        ("an object", json!({"aud": DEV_AUDIENCE})),
        ("an array holding null", json!([null])),
        ("the audience and null", json!([DEV_AUDIENCE, null])),
        ("a nested array", json!([[DEV_AUDIENCE]])),
        ("a boolean", json!(true)),
        ("the audience and a number", json!([DEV_AUDIENCE, 1])),
    ] {
        t.push(invalid(format!("aud {name}"), &signed_claims(&claims_with("aud", aud)), aud_type));
    }
    let h = header().to_string();
    t.push(invalid("aud null", &signed(h.as_bytes(), &claims_with_raw("aud", "null")), aud_type));
    for (name, aud) in [
        ("empty", json!("")),
        ("with a trailing slash", json!(format!("{DEV_AUDIENCE}/"))),
        ("as a prefix", json!(format!("{DEV_AUDIENCE}.evil.example"))),
        ("in upper case", json!(DEV_AUDIENCE.to_ascii_uppercase())),
        ("only other audiences", json!(["https://graph.microsoft.com", "api://other"])),
    ] {
        t.push(invalid(format!("aud {name}"), &signed_claims(&claims_with("aud", aud)), "another audience"));
    }
    t.push(invalid("aud an empty array", &signed_claims(&claims_with("aud", json!([]))), "no aud claim"));
    t.push(invalid("no aud", &signed_claims(&claims_with("aud", Value::Null)), "no aud claim"));
    let iss = token_issuer();
    for (name, value) in [
        ("a number", json!(5)),
        ("an array", json!([iss])),
        ("an object", json!({"iss": iss})),
        ("a boolean", json!(false)),
    ] {
        t.push(invalid(
            format!("iss {name}"),
            &signed_claims(&claims_with("iss", value)),
            "`iss` must be a string",
        ));
    }
    t.push(invalid(
        "iss null",
        &signed(h.as_bytes(), &claims_with_raw("iss", "null")),
        "`iss` must be a string",
    ));
    for (name, value) in [
        ("in upper case", json!(iss.to_ascii_uppercase())),
        ("without the trailing slash", json!(iss.trim_end_matches('/'))),
        ("with a trailing space", json!(format!("{iss} "))),
        ("empty", json!("")),
    ] {
        t.push(invalid(
            format!("iss {name}"),
            &signed_claims(&claims_with("iss", value)),
            "issuer is not accepted",
        ));
    }
    t.push(invalid("no iss", &signed_claims(&claims_with("iss", Value::Null)), "no iss claim"));
}

fn amr_confusion(t: &mut Vec<Attack>) {
    let h = header().to_string();
    let amr_type = "`amr` must be a string or an array of strings";
    for (name, amr) in [
        ("nested array", json!([["mfa"]])),
        ("object", json!({"mfa": true})),
        ("array holding null", json!([null, "mfa"])),
        ("number", json!(1)),
        ("boolean", json!(true)),
        ("mfa and a number", json!(["mfa", 1])),
        ("array of objects", json!([{"value": "mfa"}])),
    ] {
        t.push(invalid(format!("amr {name}"), &signed_claims(&claims_with("amr", amr)), amr_type));
    }
    t.push(invalid("amr null", &signed(h.as_bytes(), &claims_with_raw("amr", "null")), amr_type));
    // Valid tokens whose amr only looks like mfa: refused for MFA, nothing else.
    for (name, amr) in [
        ("'mfa ' (trailing space)", json!("mfa ")),
        ("['mfa ']", json!(["pwd", "mfa "])),
        ("[' mfa']", json!(["pwd", " mfa"])),
        ("['MFA']", json!(["pwd", "MFA"])),
        ("['Mfa']", json!(["pwd", "Mfa"])),
        ("['mfa\\u0000']", json!(["pwd", "mfa\u{0}"])),
        ("['mfa\\n']", json!(["pwd", "mfa\n"])),
        ("Cyrillic a (U+0430)", json!(["pwd", "mf\u{0430}"])),
        ("fullwidth (U+FF4D..)", json!(["pwd", "\u{ff4d}\u{ff46}\u{ff41}"])),
        ("zero-width space", json!(["pwd", "mfa\u{200b}"])),
        ("soft hyphen", json!(["pwd", "m\u{ad}fa"])),
        ("combining mark", json!(["pwd", "mfa\u{301}"])),
        ("Roman numeral m (U+217F)", json!(["pwd", "\u{217f}fa"])),
        ("'pwd mfa' as one string", json!("pwd mfa")),
        ("['pwd,mfa']", json!(["pwd,mfa"])),
        ("empty string", json!("")),
        ("empty array", json!([])),
        ("ngcmfa (not accepted by default)", json!(["ngcmfa"])),
    ] {
        t.push(mfa_required(format!("amr {name}"), MFA_PATH, &signed_claims(&claims_with("amr", amr))));
    }
    let no_amr = |extra: Value| signed_claims(&with(claims_with("amr", Value::Null), extra));
    t.push(mfa_required("no amr, AMR in upper case holds mfa", MFA_PATH, &no_amr(json!({"AMR": ["mfa"]}))));
    t.push(mfa_required("no amr, 'amr ' holds mfa", MFA_PATH, &no_amr(json!({"amr ": ["mfa"]}))));
    t.push(mfa_required("no amr, acr is mfa", MFA_PATH, &no_amr(json!({"acr": "mfa"}))));
    t.push(mfa_required("no amr, acrs holds mfa", MFA_PATH, &no_amr(json!({"acrs": ["mfa"]}))));
    // A JSON escape is not a look-alike: it is the same string.
    let escaped = signed(h.as_bytes(), &claims_with_raw("amr", r#"["pwd","m\u0066a"]"#));
    t.push(control("amr m\\u0066a is mfa", &escaped));
}

fn issuer_template_injection(t: &mut Vec<Attack>) {
    let not_guid = "tid claim is missing or not a GUID";
    let at = |tid: &str| format!("https://sts.windows.net/{tid}/");
    for (name, tid) in [
        ("a slash and a host", String::from("evil.example/x")),
        ("the placeholder itself", String::from("{tenantid}")),
        ("not a GUID", String::from("not-a-guid")),
        ("a GUID and a path", format!("{DEV_TENANT}/x")),
        ("empty", String::new()),
        ("a GUID without dashes", String::from("aaaabbbb0000cccc1111dddd2222eeee")),
        ("a GUID in braces", format!("{{{DEV_TENANT}}}")),
        ("fullwidth digits", String::from("\u{ff41}aaabbbb-0000-cccc-1111-dddd2222eeee")),
        ("a GUID with a trailing newline", format!("{DEV_TENANT}\n")),
    ] {
        let c = with(claims(), json!({"tid": tid, "iss": at(&tid)}));
        t.push(invalid(format!("tid {name}, iss to match"), &signed_claims(&c), not_guid));
    }
    t.push(invalid("no tid", &signed_claims(&claims_with("tid", Value::Null)), not_guid));
    let other = "aaaabbbb-0000-cccc-1111-dddd2222ffff";
    t.push(invalid(
        "tid of another tenant than iss",
        &signed_claims(&claims_with("tid", json!(other))),
        "issuer is not accepted",
    ));
    let upper = with(claims(), json!({"tid": DEV_TENANT.to_ascii_uppercase()}));
    t.push(invalid("tid in upper case, iss in lower", &signed_claims(&upper), "issuer is not accepted"));
    let dotted = with(claims(), json!({"iss": format!("https://sts.windows.net/{DEV_TENANT}/../evil/")}));
    t.push(invalid(
        "iss with dot segments after the tenant",
        &signed_claims(&dotted),
        "issuer is not accepted",
    ));
    t.push(invalid("tid a number", &signed_claims(&claims_with("tid", json!(1))), "`tid` must be a string"));
    // Tokens of another tenant, each consistent in itself (iss names its tid) and
    // signed by the issuer's real key: a template alone admits them, and their wids
    // and roles would count here. The fixture lists only DEV_TENANT.
    let foreign = "11112222-3333-4444-5555-666677778888";
    let of_tenant = |tid: &str, extra: Value| {
        signed_claims(&with(with(claims(), json!({"tid": tid, "iss": at(tid)})), extra))
    };
    let not_allowed = "the token's tenant is not allowed here";
    for (name, tid, extra) in [
        (
            "another tenant's Global Administrator (wids), MFA",
            foreign.to_owned(),
            json!({"roles": [], "wids": [mfa_guard_core::policy::wids::GLOBAL_ADMINISTRATOR]}),
        ),
        ("another tenant's Admin agent, MFA", foreign.to_owned(), json!({})),
        ("another tenant, tid and iss in upper case", foreign.to_ascii_uppercase(), json!({})),
        (
            "another tenant, the listed one with one digit changed",
            format!("{}f", &DEV_TENANT[..35]),
            json!({}),
        ),
    ] {
        t.push(invalid(name, &of_tenant(&tid, extra), not_allowed));
    }
}

fn caller_kind_confusion(t: &mut Vec<Attack>) {
    for (name, idtyp) in [("App", json!("App")), ("'user '", json!("user ")), ("device", json!("device"))] {
        t.push(invalid(
            format!("idtyp {name}"),
            &signed_claims(&claims_with("idtyp", idtyp)),
            "unknown caller type",
        ));
    }
    t.push(invalid(
        "idtyp an array",
        &signed_claims(&claims_with("idtyp", json!(["app"]))),
        "`idtyp` must be a string",
    ));
    let mut none = claims_with("scp", Value::Null);
    none.as_object_mut().expect("claims object").remove("roles");
    t.push(invalid("neither scp nor roles", &signed_claims(&none), "neither delegated scopes"));
    t.push(invalid(
        "scp empty, roles, oid != sub",
        &signed_claims(&claims_with("scp", json!(""))),
        "oid does not equal its sub",
    ));
    t.push(invalid("scp a number", &signed_claims(&claims_with("scp", json!(1))), "`scp` must be"));
    // An app posing as a user gains nothing: a user without MFA is still refused.
    let user_no_mfa = with(claims_with("amr", json!(["pwd"])), json!({"idtyp": "user"}));
    t.push(mfa_required("idtyp user, no MFA", MFA_PATH, &signed_claims(&user_no_mfa)));
    let app = signed_claims(&with(claims_with("amr", Value::Null), json!({"idtyp": "app"})));
    let expect = Expect::Refused {
        status_line: FORBIDDEN,
        www: Www::Exact(r#"Bearer error="insufficient_scope""#),
        code: "app_only_not_allowed",
    };
    let mut a = row("idtyp app on a user-only route".into(), MFA_PATH, vec![bearer(&app)], expect, None);
    a.secrets = segments_of(&app);
    t.push(a);
    let look_alike =
        signed_claims(&claims_with("roles", json!(["AdminAgent ", "adminagent", "Admin\u{200b}Agent"])));
    let expect = Expect::Refused {
        status_line: FORBIDDEN,
        www: Www::Exact(r#"Bearer error="insufficient_scope""#),
        code: "insufficient_role",
    };
    t.push(row(
        "roles that only look like AdminAgent".into(),
        MFA_PATH,
        vec![bearer(&look_alike)],
        expect,
        None,
    ));
    t.push(invalid(
        "roles a nested array",
        &signed_claims(&claims_with("roles", json!([["AdminAgent"]]))),
        "`roles` must be",
    ));
}

fn authorization_headers(t: &mut Vec<Attack>) {
    let token = signed_claims(&claims());
    let line = bearer(&token);
    for n in [2usize, 3, 50] {
        let because = match n {
            2 => "carries 2 Authorization headers",
            3 => "carries 3 Authorization headers",
            _ => "carries 50 Authorization headers",
        };
        t.push(bad_request(format!("{n} Authorization headers"), vec![line.clone(); n], because));
    }
    let lower = format!("authorization: Bearer {token}").into_bytes();
    let upper = format!("AUTHORIZATION: Bearer {token}").into_bytes();
    t.push(bad_request("the header twice in two casings", vec![lower, upper], "carries 2"));
    t.push(bad_request(
        "a valid header and an empty one",
        vec![line.clone(), b"Authorization:".to_vec()],
        "carries 2",
    ));
    t.push(bad_request(
        "a valid header and a Basic one",
        vec![b"Authorization: Basic dXNlcjpwYXNz".to_vec(), line.clone()],
        "carries 2",
    ));
    t.push(bad_request(
        "two tokens joined by a comma",
        vec![format!("Authorization: Bearer {token}, Bearer {token}").into_bytes()],
        "b64token",
    ));
    t.push(bad_request(
        "Bearer twice",
        vec![format!("Authorization: Bearer Bearer {token}").into_bytes()],
        "b64token",
    ));
    t.push(bad_request(
        "a token and a parameter",
        vec![format!("Authorization: Bearer {token} realm=x").into_bytes()],
        "b64token",
    ));
    t.push(bad_request("Bearer and nothing", vec![b"Authorization: Bearer".to_vec()], "carries no token"));
    t.push(bad_request("only padding", vec![b"Authorization: Bearer ====".to_vec()], "b64token"));
    let big = format!("Authorization: Bearer {}.{}.{}", "a".repeat(6000), "b".repeat(6000), "c".repeat(5000));
    t.push(bad_request("a header of 17 KiB", vec![big.into_bytes()], "exceeds 16384 bytes"));
    // Beyond what HTTP servers accept at all.
    let huge = format!("Authorization: Bearer {}", "a".repeat(1024 * 1024));
    t.push(server_level("a header of 1 MiB", vec![huge.into_bytes()]));
    t.push(server_level("200 Authorization headers", vec![line.clone(); 200]));
    t.push(server_level(
        "whitespace before the colon",
        vec![format!("Authorization : Bearer {token}").into_bytes()],
    ));
    t.push(server_level(
        "obs-fold continuation",
        vec![b"Authorization: Bearer".to_vec(), format!(" {token}").into_bytes()],
    ));
}

fn header_bytes(t: &mut Vec<Attack>) {
    let token = signed_claims(&claims());
    let with_bytes = |before: &[u8], after: &[u8]| {
        let mut l = b"Authorization: ".to_vec();
        l.extend_from_slice(before);
        l.extend_from_slice(token.as_bytes());
        l.extend_from_slice(after);
        l
    };
    let outside = "outside visible ASCII";
    for (name, before, after) in [
        ("0xFF after the token", &b"Bearer "[..], &b"\xff"[..]),
        ("0x80 after the token", b"Bearer ", b"\x80"),
        ("e-acute after the token", b"Bearer ", "\u{e9}".as_bytes()),
        ("zero-width space after the token", b"Bearer ", "\u{200b}".as_bytes()),
        ("no-break space after the scheme", "Bearer\u{a0}".as_bytes(), b""),
        ("Cyrillic e in the scheme", "B\u{435}arer ".as_bytes(), b""),
    ] {
        t.push(bad_request(name, vec![with_bytes(before, after)], outside));
    }
    for (name, before, after) in [
        ("NUL after the token", &b"Bearer "[..], &b"\x00"[..]),
        ("SOH in the scheme", b"Bea\x01rer ", b""),
        ("vertical tab after the token", b"Bearer ", b"\x0b"),
        ("form feed after the token", b"Bearer ", b"\x0c"),
        ("DEL after the token", b"Bearer ", b"\x7f"),
        ("bare CR inside the token", b"Bearer ", b"\rx"),
        ("bare LF inside the token", b"Bearer ", b"\nx"),
        ("ESC sequence", b"\x1b[31mBearer ", b""),
    ] {
        t.push(server_level(name, vec![with_bytes(before, after)]));
    }
}

/// Paths: the rule is chosen from the path as the router reads it, and a path that
/// cannot be read one way is refused before any rule is chosen — for users without
/// MFA and for app-only tokens alike.
fn path_readings(t: &mut Vec<Attack>) {
    let no_mfa = signed_claims(&claims_with("amr", json!(["pwd"])));
    let app = issuer().app().sign().expect("sign");
    let callers = [("user without MFA", &no_mfa, "user"), ("app-only", &app, "app")];
    let unreadable = |name: String, path: &str, token: &str, because: &'static str| {
        let expect = Expect::Refused {
            status_line: BAD_REQUEST,
            www: Www::Prefix(r#"Bearer error="invalid_request", error_description=""#),
            code: "invalid_request",
        };
        let mut a = row(name, path, vec![bearer(token)], expect, Some(because));
        a.secrets = segments_of(token);
        a
    };
    for (who, token, _) in callers {
        for (path, because) in [
            ("/health/../commerce/customers", "dot segment"),
            ("/health/%2e%2e/commerce/customers", "dot segment"),
            ("/overview/./../commerce/customers", "dot segment"),
            ("/security/%2E%2e/alerts", "dot segment"),
            ("/billing/%2e", "dot segment"),
            ("/v1/customers/x/..", "dot segment"),
            ("/health%2F..%2Fcommerce%2Fcustomers", "encoded '/'"),
            ("/%62illing/x%2F..%2F..", "encoded '/'"),
            ("/v1/customers/a%2fb", "encoded '/'"),
            ("/%63ommerce/customers/%zz", "malformed percent-escape"),
            ("/commerce/customers/%", "malformed percent-escape"),
            ("/commerce/customers/%2", "malformed percent-escape"),
            ("/commerce%5Ccustomers", "backslash"),
            ("/commerce/customers%00", "control character"),
            ("/commerce/%0a", "control character"),
            ("/commerce/%ff", "not UTF-8"),
        ] {
            t.push(unreadable(format!("path {path} ({who})"), path, token, because));
        }
        // The HTTP servers refuse a raw backslash in the request target themselves.
        let mut raw = server_level(format!("path with a raw backslash ({who})"), vec![bearer(token)]);
        raw.case.target = r"/commerce\customers".into();
        t.push(raw);
    }
    // Read literally by both routers (neither decodes case, `;` or a leading `//`):
    // what the router does not route to a protected handler gets the fallback rule,
    // and what it does gets that handler's rule.
    for (who, token, kind) in callers {
        for path in
            ["/COMMERCE/customers", "//commerce//customers", "/commerce;x=1/customers", "/security;/alerts"]
        {
            let expect = Expect::Ok { area: "unmatched", kind: Some(kind), report_only: None };
            t.push(row(
                format!("control: path {path} is unmatched, as routed ({who})"),
                path,
                vec![bearer(token)],
                expect,
                None,
            ));
        }
    }
    for path in ["/commerce//customers", "/commerce/customers;x=1"] {
        t.push(mfa_required(format!("path {path} (user without MFA)"), path, &no_mfa));
        t.push(app_only(format!("path {path} (app-only)"), path, &app));
    }
    // Read differently by the routers: actix decodes `%63` and `%67` and routes to
    // the protected handler, axum does not and serves the fallback; the guard
    // follows each router.
    for path in ["/%63ommerce/customers", "/billin%67/invoices"] {
        let mut user =
            mfa_required(format!("path {path} follows each router (user without MFA)"), path, &no_mfa);
        user.per_target =
            vec![("axum", Expect::Ok { area: "unmatched", kind: Some("user"), report_only: None })];
        t.push(user);
        let mut a = app_only(format!("path {path} follows each router (app-only)"), path, &app);
        a.per_target = vec![("axum", Expect::Ok { area: "unmatched", kind: Some("app"), report_only: None })];
        t.push(a);
    }
}

/// `403 app_only_not_allowed`: an app-only token on a user-only route.
fn app_only(name: impl Into<String>, path: &str, token: &str) -> Attack {
    let expect = Expect::Refused {
        status_line: FORBIDDEN,
        www: Www::Exact(r#"Bearer error="insufficient_scope""#),
        code: "app_only_not_allowed",
    };
    let mut a = row(name.into(), path, vec![bearer(token)], expect, None);
    a.secrets = segments_of(token);
    a
}

/// Runs the table against every target: each answer as expected, each refusal for
/// its stated reason, no token segment echoed, and every target answering the
/// same bytes (except server-level rows, see the module docs). Returns the failures.
pub async fn run(attacks: &[Attack], targets: &[Target]) -> Vec<String> {
    let mut failures = Vec::new();
    for attack in attacks {
        let case = &attack.case;
        let lines = match &case.auth {
            Auth::Raw(lines) => lines.clone(),
            _ => Vec::new(),
        };
        let mut answers: Vec<(&'static str, RawResponse)> = Vec::new();
        for target in targets {
            let fail = |why: String| format!("[{}] {}: {why}", target.name, case.name);
            let result = request(target.addr, case.method, &case.target, &lines).await;
            if attack.server_level {
                match &result {
                    Ok(res) if (400..500).contains(&res.status) => {}
                    Ok(res) => failures.push(fail(format!("server-level answer {:?}", res.status_line))),
                    // The connection closed without an answer: refused, not admitted.
                    Err(_) => {}
                }
                if let Err(e) = health(target).await {
                    failures.push(fail(format!("the server stopped answering: {e}")));
                }
                continue;
            }
            let res = match result {
                Ok(res) => res,
                Err(e) => {
                    failures.push(fail(format!("no answer ({e}); the server may have panicked")));
                    continue;
                }
            };
            let expected = attack.per_target.iter().find(|(name, _)| *name == target.name);
            let checked = match expected {
                Some((_, expect)) => {
                    crate::cases::check(&Case { expect: expect.clone(), ..case.clone() }, &res)
                }
                None => crate::cases::check(case, &res),
            };
            if let Err(e) = checked {
                failures.push(fail(e));
            } else if expected.is_none()
                && let Err(e) = check_reason(attack, &res)
            {
                failures.push(fail(e));
            }
            answers.push((target.name, res));
        }
        if !attack.per_target.is_empty() {
            continue;
        }
        if let Some(((first_name, first), rest)) = answers.split_first() {
            for (name, res) in rest {
                if comparable(first) != comparable(res) {
                    failures.push(format!(
                        "{}: {first_name} and {name} differ: {:?} / {:?}",
                        case.name,
                        comparable(first),
                        comparable(res)
                    ));
                }
            }
        }
    }
    failures
}

/// The refusal names the rule of `because`, in the body and the challenge, and
/// echoes no token segment.
fn check_reason(attack: &Attack, res: &RawResponse) -> Result<(), String> {
    let raw = {
        let mut s = res.status_line.clone();
        for (n, v) in &res.headers {
            let _ = write!(s, "\n{n}: {v}");
        }
        s.push_str(&String::from_utf8_lossy(&res.body));
        s
    };
    if let Some(secret) = attack.secrets.iter().find(|s| raw.contains(s.as_str())) {
        return Err(format!("the answer echoes a token segment or attacker text ({} bytes)", secret.len()));
    }
    let Some(because) = attack.because else { return Ok(()) };
    let detail = res.json()["detail"].as_str().unwrap_or_default().to_owned();
    if !detail.contains(because) {
        return Err(format!("refused for another reason: {detail:?} does not say {because:?}"));
    }
    if let Some(www) = res.header("www-authenticate")
        && www.contains("error_description")
    {
        let parsed = parse_challenge(www).ok_or_else(|| format!("challenge does not parse: {www}"))?;
        // The fixture sets no realm: a description is only ever beside `error`, so
        // any other parameter was injected.
        let names: Vec<&str> = parsed.params.iter().map(|(n, _)| n.as_str()).collect();
        if names != ["error", "error_description"] {
            return Err(format!("challenge parameters {names:?}, not [error, error_description]: {www}"));
        }
        let description =
            parsed.params.iter().find(|(n, _)| n == "error_description").map(|(_, v)| v.as_str());
        if !description.is_some_and(|d| d.contains(because)) {
            return Err(format!("error_description {description:?} does not say {because:?}"));
        }
    }
    Ok(())
}

/// `GET /health` answers `200`.
pub async fn health(target: &Target) -> Result<(), String> {
    let res = request(target.addr, "GET", "/health", &[]).await.map_err(|e| e.to_string())?;
    if res.status_line == "HTTP/1.1 200 OK" { Ok(()) } else { Err(res.status_line) }
}
